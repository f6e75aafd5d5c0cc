-- Guarded rollouts (release plans) and the SDK impact metrics their guards read.
-- A plan raises one rule's rollout of a flag in one environment through milestones; the
-- milestones and guards are JSON the server interprets. `before_body` is the flag as it
-- was before the plan (what a rollback restores). At most one active plan per flag and
-- environment. `lease_owner`/`lease_until`: the replica advancing the plan, until when.
CREATE TABLE release_plans (
    id           bigserial PRIMARY KEY,
    flag         text NOT NULL,
    environment  text NOT NULL,
    rule         bigint NOT NULL,
    milestones   text NOT NULL,
    guards       text NOT NULL,
    on_breach    text NOT NULL,
    step         bigint NOT NULL,
    status       text NOT NULL,
    reason       text,
    before_body  text NOT NULL,
    last_version bigint NOT NULL,
    next_at      timestamptz,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    revision     bigint NOT NULL,
    lease_owner  text,
    lease_until  timestamptz
);
CREATE UNIQUE INDEX release_plans_active ON release_plans (flag, environment)
    WHERE status IN ('running', 'paused');

-- Impact metrics reported by SDKs with their usage (`impactMetrics`): per environment,
-- hourly bucket (its start), metric name and label set (sorted JSON), the counter total or
-- last gauge value, and histogram count, sum and cumulative buckets (JSON [[le, n], ...]).
CREATE TABLE impact_metrics (
    environment text NOT NULL,
    bucket      timestamptz NOT NULL,
    name        text NOT NULL,
    labels      text NOT NULL,
    kind        text NOT NULL,
    value       double precision NOT NULL,
    count       bigint NOT NULL,
    sum         double precision NOT NULL,
    buckets     text NOT NULL,
    PRIMARY KEY (environment, bucket, name, labels)
);
CREATE INDEX impact_metrics_by_bucket ON impact_metrics (bucket);

-- Impact preview: whether the server samples the contexts it evaluates in an environment.
CREATE TABLE sampling_settings (
    environment text PRIMARY KEY,
    enabled     boolean NOT NULL,
    mode        text NOT NULL,
    size        bigint NOT NULL
);

-- Guarded rollouts (release plans) and the SDK impact metrics their guards read.
-- A plan raises one rule's rollout of a flag in one environment through milestones; the
-- milestones and guards are JSON the server interprets. `before_body` is the flag as it
-- was before the plan (what a rollback restores). At most one active plan per flag and
-- environment. `lease_owner`/`lease_until`: the replica advancing the plan, until when.
CREATE TABLE release_plans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    flag         TEXT NOT NULL,
    environment  TEXT NOT NULL,
    rule         INTEGER NOT NULL,
    milestones   TEXT NOT NULL CHECK (json_valid(milestones)),
    guards       TEXT NOT NULL CHECK (json_valid(guards)),
    on_breach    TEXT NOT NULL,
    step         INTEGER NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT,
    before_body  TEXT NOT NULL CHECK (json_valid(before_body)),
    last_version INTEGER NOT NULL,
    next_at      TEXT,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  TEXT
);
CREATE UNIQUE INDEX release_plans_active ON release_plans (flag, environment)
    WHERE status IN ('running', 'paused');

-- Impact metrics reported by SDKs with their usage (`impactMetrics`): per environment,
-- hourly bucket (its start), metric name and label set (sorted JSON), the counter total or
-- last gauge value, and histogram count, sum and cumulative buckets (JSON [[le, n], ...]).
CREATE TABLE impact_metrics (
    environment TEXT NOT NULL,
    bucket      TEXT NOT NULL,
    name        TEXT NOT NULL,
    labels      TEXT NOT NULL CHECK (json_valid(labels)),
    kind        TEXT NOT NULL,
    value       REAL NOT NULL,
    count       INTEGER NOT NULL,
    sum         REAL NOT NULL,
    buckets     TEXT NOT NULL CHECK (json_valid(buckets)),
    PRIMARY KEY (environment, bucket, name, labels)
) WITHOUT ROWID;
CREATE INDEX impact_metrics_by_bucket ON impact_metrics (bucket);

-- Impact preview: whether the server samples the contexts it evaluates in an environment.
CREATE TABLE sampling_settings (
    environment TEXT PRIMARY KEY,
    enabled     INTEGER NOT NULL,
    mode        TEXT NOT NULL,
    size        INTEGER NOT NULL
);

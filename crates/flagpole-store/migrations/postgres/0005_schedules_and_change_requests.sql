-- Scheduled changes and change requests (issue 13, part 1). Each holds the proposed new
-- state of one flag or segment (the whole document, as JSON) and the version it was
-- based on; applying it is an ordinary write through the server's one write path.
-- Replicas claim due schedules with `FOR UPDATE SKIP LOCKED` and a lease.

-- A change to an environment that requires approval must go through a change request.
ALTER TABLE environments ADD COLUMN requires_approval boolean NOT NULL DEFAULT false;

CREATE TABLE schedules (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('flag', 'segment')),
    target         text NOT NULL CHECK (target <> ''),
    environments   jsonb NOT NULL DEFAULT '[]',
    body           jsonb NOT NULL,
    based_on       bigint NOT NULL,
    due_at         timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'running', 'applied', 'failed', 'cancelled')),
    reason         text,
    change_request bigint,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    lease_until    timestamptz,
    attempts       integer NOT NULL DEFAULT 0
);
CREATE INDEX schedules_by_status_due ON schedules (status, due_at);
CREATE INDEX schedules_by_target ON schedules (kind, target);

CREATE TABLE change_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('flag', 'segment')),
    target       text NOT NULL CHECK (target <> ''),
    environments jsonb NOT NULL DEFAULT '[]',
    body         jsonb NOT NULL,
    based_on     bigint NOT NULL,
    description  text NOT NULL DEFAULT '',
    status       text NOT NULL CHECK (status IN ('open', 'applied', 'scheduled', 'rejected')),
    author       text NOT NULL,
    reviewer     text,
    schedule_id  bigint,
    comments     jsonb NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX change_requests_by_status ON change_requests (status, id);

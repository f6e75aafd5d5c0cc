-- Scheduled changes and change requests (issue 13, part 1). Each holds the proposed new
-- state of one flag or segment (the whole document, as JSON text) and the version it was
-- based on; applying it is an ordinary write through the server's one write path.

-- A change to an environment that requires approval must go through a change request.
ALTER TABLE environments ADD COLUMN requires_approval INTEGER NOT NULL DEFAULT 0 CHECK (requires_approval IN (0, 1));

CREATE TABLE schedules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL CHECK (kind IN ('flag', 'segment')),
    target         TEXT NOT NULL CHECK (target <> ''),
    -- The environments the change touches, a JSON array of text.
    environments   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(environments) AND json_type(environments) = 'array'),
    body           TEXT NOT NULL CHECK (json_valid(body)),
    based_on       INTEGER NOT NULL,
    due_at         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'running', 'applied', 'failed', 'cancelled')),
    reason         TEXT,
    change_request INTEGER,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    -- While `running`: until when the replica that claimed it holds it.
    lease_until    TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX schedules_by_status_due ON schedules (status, due_at);
CREATE INDEX schedules_by_target ON schedules (kind, target);

CREATE TABLE change_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL CHECK (kind IN ('flag', 'segment')),
    target       TEXT NOT NULL CHECK (target <> ''),
    environments TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(environments) AND json_type(environments) = 'array'),
    body         TEXT NOT NULL CHECK (json_valid(body)),
    based_on     INTEGER NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('open', 'applied', 'scheduled', 'rejected')),
    author       TEXT NOT NULL,
    reviewer     TEXT,
    schedule_id  INTEGER,
    -- A JSON array of {author, at, text}.
    comments     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(comments) AND json_type(comments) = 'array'),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX change_requests_by_status ON change_requests (status, id);

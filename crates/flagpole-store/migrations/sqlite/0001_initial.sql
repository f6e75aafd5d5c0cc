-- Flagpole's schema for SQLite. Timestamps are UTC RFC 3339 text of one fixed width
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order is time order. Documents are JSON text.

-- One row: the configuration version, raised by every committed write.
CREATE TABLE meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    config_version INTEGER NOT NULL
);
INSERT INTO meta (id, config_version) VALUES (1, 0);

CREATE TABLE environments (
    name       TEXT PRIMARY KEY CHECK (name <> ''),
    created_at TEXT NOT NULL
);

-- Live and archived flags; the body is a flagpole_core::Flag.
CREATE TABLE flags (
    key        TEXT PRIMARY KEY CHECK (key <> ''),
    body       TEXT NOT NULL CHECK (json_valid(body)),
    version    INTEGER NOT NULL CHECK (version > 0),
    archived   INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The body is a flagpole_core::Segment.
CREATE TABLE segments (
    name       TEXT PRIMARY KEY CHECK (name <> ''),
    body       TEXT NOT NULL CHECK (json_valid(body)),
    version    INTEGER NOT NULL CHECK (version > 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every version of every flag, kept after the flag is deleted; a NULL body is a deletion.
CREATE TABLE flag_versions (
    key      TEXT NOT NULL,
    version  INTEGER NOT NULL CHECK (version > 0),
    body     TEXT CHECK (body IS NULL OR json_valid(body)),
    archived INTEGER NOT NULL CHECK (archived IN (0, 1)),
    actor    TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (key, version)
) WITHOUT ROWID;

CREATE TABLE audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    flag           TEXT,
    segment        TEXT,
    environment    TEXT,
    before         TEXT CHECK (before IS NULL OR json_valid(before)),
    after          TEXT CHECK (after IS NULL OR json_valid(after)),
    config_version INTEGER NOT NULL
);
CREATE INDEX audit_by_flag ON audit (flag, id);
CREATE INDEX audit_by_segment ON audit (segment, id);
CREATE INDEX audit_by_environment ON audit (environment, id);
CREATE INDEX audit_by_at ON audit (at);

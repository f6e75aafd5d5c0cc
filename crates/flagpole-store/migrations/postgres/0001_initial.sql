-- Flagpole's schema for PostgreSQL. Documents are `json` (not `jsonb`) so that they come
-- back exactly as written, keys in the order the user gave them.

-- One row: the configuration version. Every write transaction updates it first, which
-- both raises it and serializes writers across all replicas.
CREATE TABLE meta (
    id             smallint PRIMARY KEY CHECK (id = 1),
    config_version bigint NOT NULL
);
INSERT INTO meta (id, config_version) VALUES (1, 0);

CREATE TABLE environments (
    name       text PRIMARY KEY CHECK (name <> ''),
    created_at timestamptz NOT NULL
);

-- Live and archived flags; the body is a flagpole_core::Flag.
CREATE TABLE flags (
    key        text PRIMARY KEY CHECK (key <> ''),
    body       json NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    archived   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- The body is a flagpole_core::Segment.
CREATE TABLE segments (
    name       text PRIMARY KEY CHECK (name <> ''),
    body       json NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Every version of every flag, kept after the flag is deleted; a NULL body is a deletion.
CREATE TABLE flag_versions (
    key      text NOT NULL,
    version  bigint NOT NULL CHECK (version > 0),
    body     json,
    archived boolean NOT NULL,
    actor    text NOT NULL,
    at       timestamptz NOT NULL,
    PRIMARY KEY (key, version)
);

CREATE TABLE audit (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL,
    actor          text NOT NULL,
    action         text NOT NULL,
    flag           text,
    segment        text,
    environment    text,
    before         json,
    after          json,
    config_version bigint NOT NULL
);
CREATE INDEX audit_by_flag ON audit (flag, id);
CREATE INDEX audit_by_segment ON audit (segment, id);
CREATE INDEX audit_by_environment ON audit (environment, id);
CREATE INDEX audit_by_at ON audit (at);

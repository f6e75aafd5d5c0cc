-- Access control: API tokens, users and their sessions; protected environments; the
-- client address of each audited change. Secrets are never stored: a token keeps the
-- SHA-256 of its text (and, in clear, a selector to find its row), a user an Argon2id
-- hash of the password, a session the SHA-256 of its id. Lists are JSON arrays of text.

-- Raised by every change to tokens and users, so replicas know to reload them.
ALTER TABLE meta ADD COLUMN auth_version INTEGER NOT NULL DEFAULT 0;

ALTER TABLE environments ADD COLUMN protected INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1));

ALTER TABLE audit ADD COLUMN address TEXT;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY CHECK (id <> ''),
    name         TEXT NOT NULL CHECK (name <> ''),
    kind         TEXT NOT NULL CHECK (kind IN ('client', 'frontend', 'admin')),
    environment  TEXT,
    role         TEXT,
    origins      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(origins) AND json_type(origins) = 'array'),
    grants       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(grants) AND json_type(grants) = 'array'),
    verifier     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE users (
    name          TEXT PRIMARY KEY CHECK (name <> ''),
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    grants        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(grants) AND json_type(grants) = 'array'),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_name);

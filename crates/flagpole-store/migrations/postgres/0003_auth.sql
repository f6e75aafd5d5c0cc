-- Access control: API tokens, users and their sessions; protected environments; the
-- client address of each audited change. Secrets are never stored: a token keeps the
-- SHA-256 of its text (and, in clear, a selector to find its row), a user an Argon2id
-- hash of the password, a session the SHA-256 of its id. Lists are JSON arrays of text.

-- Raised by every change to tokens and users, so replicas know to reload them.
ALTER TABLE meta ADD COLUMN auth_version bigint NOT NULL DEFAULT 0;

ALTER TABLE environments ADD COLUMN protected boolean NOT NULL DEFAULT false;

ALTER TABLE audit ADD COLUMN address text;

CREATE TABLE tokens (
    id           text PRIMARY KEY CHECK (id <> ''),
    name         text NOT NULL CHECK (name <> ''),
    kind         text NOT NULL CHECK (kind IN ('client', 'frontend', 'admin')),
    environment  text,
    role         text,
    origins      json NOT NULL DEFAULT '[]',
    grants       json NOT NULL DEFAULT '[]',
    verifier     text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE users (
    name          text PRIMARY KEY CHECK (name <> ''),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    grants        json NOT NULL DEFAULT '[]',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    id_hash      text PRIMARY KEY,
    user_name    text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_name);

-- no-transaction
-- Projects (issue "Projects"): a project groups flags and segments and has its own
-- settings per environment; users may be members of projects; tokens name the projects
-- they reach.
--
-- Users may now have the role `member` (no server-wide role: only the projects they are a
-- member of). SQLite cannot change a CHECK constraint, so the users table is rebuilt by
-- SQLite's documented procedure (https://www.sqlite.org/lang_altertable.html, "Making
-- Other Kinds Of Table Schema Changes"): with foreign keys off, which cannot be switched
-- inside a transaction (hence `no-transaction` above, and the explicit transaction
-- below, which makes the migration all or nothing), so that dropping the old table does
-- not cascade to `sessions`, whose `REFERENCES users (name)` then names the new table.
PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

CREATE TABLE users_with_member (
    name          TEXT PRIMARY KEY CHECK (name <> ''),
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin', 'member')),
    grants        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(grants) AND json_type(grants) = 'array'),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
INSERT INTO users_with_member (name, password_hash, role, grants, created_at, updated_at)
    SELECT name, password_hash, role, grants, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_with_member RENAME TO users;

-- `environments`: the environments the project uses, a JSON array of names, or NULL for
-- all. `settings`: per environment, {"protected": bool, "requires_approval": bool}.
CREATE TABLE projects (
    key          TEXT PRIMARY KEY CHECK (key <> ''),
    name         TEXT NOT NULL,
    description  TEXT,
    environments TEXT CHECK (environments IS NULL OR (json_valid(environments) AND json_type(environments) = 'array')),
    settings     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object'),
    version      INTEGER NOT NULL CHECK (version > 0),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
-- Every flag and segment so far is in `default`. Its settings start empty: an
-- environment's own `protected` and `requires_approval` stay where they are, and the
-- server holds every project to them (a floor), so copying them here would only make two
-- places to keep in step. (strftime gives milliseconds: padded to the fixed width of
-- every other timestamp.)
INSERT INTO projects (key, name, description, environments, settings, version, created_at, updated_at)
    VALUES ('default', 'Default', NULL, NULL, '{}', 1,
        strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z', strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z');

-- A flag's or segment's project, kept with its document (which names it, or names none:
-- `default`), so that a project's flags and segments can be counted.
ALTER TABLE flags ADD COLUMN project TEXT NOT NULL DEFAULT 'default' CHECK (project <> '');
UPDATE flags SET project = json_extract(body, '$.project') WHERE json_extract(body, '$.project') IS NOT NULL;
CREATE INDEX flags_by_project ON flags (project);
ALTER TABLE segments ADD COLUMN project TEXT NOT NULL DEFAULT 'default' CHECK (project <> '');
UPDATE segments SET project = json_extract(body, '$.project') WHERE json_extract(body, '$.project') IS NOT NULL;
CREATE INDEX segments_by_project ON segments (project);

-- The project of the flag, segment, project or membership an entry changed; NULL for
-- environments, tokens and users.
ALTER TABLE audit ADD COLUMN project TEXT;
UPDATE audit SET project = 'default' WHERE flag IS NOT NULL OR segment IS NOT NULL;
CREATE INDEX audit_by_project ON audit (project, id);

-- `projects`: a JSON array of project keys, ["*"] for all (what every token had so far).
-- `owner`: for an admin token, the user whose personal token it is (NULL: a service
-- account's; every token so far).
ALTER TABLE tokens ADD COLUMN projects TEXT NOT NULL DEFAULT '["*"]' CHECK (json_valid(projects) AND json_type(projects) = 'array');
ALTER TABLE tokens ADD COLUMN owner TEXT;

-- A user's role in one project. Deleting the project or the user ends it.
CREATE TABLE members (
    project    TEXT NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (project, user_name)
);
CREATE INDEX members_by_user ON members (user_name);

COMMIT;

PRAGMA foreign_keys = ON;

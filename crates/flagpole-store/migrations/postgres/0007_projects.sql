-- Projects (issue "Projects"): a project groups flags and segments and has its own
-- settings per environment; users may be members of projects; tokens name the projects
-- they reach.

-- Users may now have the role `member` (no server-wide role: only the projects they are a
-- member of).
ALTER TABLE users DROP CONSTRAINT users_role_check,
    ADD CONSTRAINT users_role_check CHECK (role IN ('viewer', 'editor', 'admin', 'member'));

-- `environments`: the environments the project uses, a JSON array of names, or NULL for
-- all. `settings`: per environment, {"protected": bool, "requires_approval": bool}.
CREATE TABLE projects (
    key          text PRIMARY KEY CHECK (key <> ''),
    name         text NOT NULL,
    description  text,
    environments jsonb,
    settings     jsonb NOT NULL DEFAULT '{}',
    version      bigint NOT NULL CHECK (version > 0),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
-- Every flag and segment so far is in `default`. Its settings start empty: an
-- environment's own `protected` and `requires_approval` stay where they are, and the
-- server holds every project to them (a floor), so copying them here would only make two
-- places to keep in step.
INSERT INTO projects (key, name, description, environments, settings, version, created_at, updated_at)
    VALUES ('default', 'Default', NULL, NULL, '{}', 1, now(), now());

-- A flag's or segment's project, kept with its document (which names it, or names none:
-- `default`), so that a project's flags and segments can be counted.
ALTER TABLE flags ADD COLUMN project text NOT NULL DEFAULT 'default' CHECK (project <> '');
UPDATE flags SET project = body->>'project' WHERE body->>'project' IS NOT NULL;
CREATE INDEX flags_by_project ON flags (project);
ALTER TABLE segments ADD COLUMN project text NOT NULL DEFAULT 'default' CHECK (project <> '');
UPDATE segments SET project = body->>'project' WHERE body->>'project' IS NOT NULL;
CREATE INDEX segments_by_project ON segments (project);

-- The project of the flag, segment, project or membership an entry changed; NULL for
-- environments, tokens and users.
ALTER TABLE audit ADD COLUMN project text;
UPDATE audit SET project = 'default' WHERE flag IS NOT NULL OR segment IS NOT NULL;
CREATE INDEX audit_by_project ON audit (project, id);

-- `projects`: a JSON array of project keys, ["*"] for all (what every token had so far).
-- `owner`: for an admin token, the user whose personal token it is (NULL: a service
-- account's; every token so far).
ALTER TABLE tokens ADD COLUMN projects json NOT NULL DEFAULT '["*"]',
    ADD COLUMN owner text;

-- A user's role in one project. Deleting the project or the user ends it.
CREATE TABLE members (
    project    text NOT NULL REFERENCES projects (key) ON DELETE CASCADE,
    user_name  text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (project, user_name)
);
CREATE INDEX members_by_user ON members (user_name);

-- Usage reported by SDKs (Unleash's /api/client/metrics): per environment, hourly bucket
-- and flag, how often the flag was on (yes) and off (no), and how often each variant was
-- served (a JSON object of variant name to count). The bucket is its start, a timestamp
-- like every other (fixed-width UTC RFC 3339 text). Rows are only ever added to; there is
-- no foreign key, because SDKs may report flags and environments that are gone.
CREATE TABLE usage (
    environment TEXT NOT NULL,
    bucket      TEXT NOT NULL,
    flag        TEXT NOT NULL,
    yes         INTEGER NOT NULL,
    no          INTEGER NOT NULL,
    variants    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(variants) AND json_type(variants) = 'object'),
    PRIMARY KEY (environment, bucket, flag)
) WITHOUT ROWID;
CREATE INDEX usage_by_flag ON usage (flag, bucket);
CREATE INDEX usage_by_bucket ON usage (bucket);

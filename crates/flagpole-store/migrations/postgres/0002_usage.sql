-- Usage reported by SDKs (Unleash's /api/client/metrics): per environment, hourly bucket
-- (its start) and flag, how often the flag was on (yes) and off (no), and how often each
-- variant was served. Variants are `jsonb` (an object of variant name to count), unlike
-- the stored documents, so that concurrent reports can be merged in one upsert. There is
-- no foreign key, because SDKs may report flags and environments that are gone.
CREATE TABLE usage (
    environment text NOT NULL,
    bucket      timestamptz NOT NULL,
    flag        text NOT NULL,
    yes         bigint NOT NULL,
    no          bigint NOT NULL,
    variants    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(variants) = 'object'),
    PRIMARY KEY (environment, bucket, flag)
);
CREATE INDEX usage_by_flag ON usage (flag, bucket);
CREATE INDEX usage_by_bucket ON usage (bucket);

-- Reading the change feed (Store::changes_since) by configuration version.
CREATE INDEX audit_by_config_version ON audit (config_version);

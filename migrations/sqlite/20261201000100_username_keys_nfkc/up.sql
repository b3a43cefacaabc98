-- Username lookup keys become Unicode NFKC before case folding (as Django's normalize_username).
-- SQL cannot normalise Unicode: this marks the work, which idgate does in Rust right after the
-- migrations run (db::data_migrations), and deletes the mark in the same transaction.
CREATE TABLE data_migrations (
    name TEXT PRIMARY KEY NOT NULL
);

INSERT INTO data_migrations (name) VALUES ('username_keys_nfkc');

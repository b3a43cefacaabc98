-- Registered OAuth 2 / OpenID Connect clients (API.md §5). Lists are space-separated: a URI,
-- a grant type or a scope never contains a space.
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY NOT NULL,
    -- SHA-256 of the secret, hex; NULL for a public client. Secrets are 256 random bits, so a
    -- fast hash is as safe as a slow one and keeps client authentication off the bcrypt threads.
    secret_sha256 TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A refresh family is usable only by the client it was granted to (RFC 6749 §6), with the
-- scope it was granted. NULL: the first-party simplejwt API, which has no registered client.
ALTER TABLE refresh_families ADD COLUMN client_id TEXT;
ALTER TABLE refresh_families ADD COLUMN scope TEXT NOT NULL DEFAULT 'openid profile email';
CREATE INDEX refresh_families_client_id ON refresh_families (client_id);

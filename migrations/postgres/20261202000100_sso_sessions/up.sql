-- A browser's single-sign-on session (API.md §5): who signed in and when. The cookie holds a
-- random value; only its SHA-256 is kept. `id` is the session's `sid` in tokens.
CREATE TABLE browser_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    cookie_sha256 TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);
CREATE INDEX browser_sessions_revoked_at ON browser_sessions (revoked_at);

-- An authorization code (RFC 6749 §4.1.2): single use, bound to its client, redirect URI and
-- PKCE challenge. Only its SHA-256 is kept. `family_id` is the session its exchange started,
-- revoked if the code is presented again.
CREATE TABLE authorization_codes (
    code_sha256 TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    browser_session_id TEXT NOT NULL REFERENCES browser_sessions (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    -- the redirect URI was named in the request, so the token request must name it too
    redirect_uri_given BOOLEAN NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    family_id TEXT
);

CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- Families that came from a browser session end with it; their tokens carry its id as `sid`
-- and its `auth_time`.
ALTER TABLE refresh_families ADD COLUMN browser_session_id TEXT;
ALTER TABLE refresh_families ADD COLUMN auth_time BIGINT;
CREATE INDEX refresh_families_browser_session_id ON refresh_families (browser_session_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    -- the username folded to lower case: uniqueness and sign-in ignore case
    username_key TEXT NOT NULL UNIQUE,
    email TEXT,
    password_hash TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    -- space-separated role names
    roles TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_login BIGINT
);

-- One row per sign-in session: the refresh token it currently honours, the one it just
-- retired (for the reuse grace), and when it ends.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    current_jti TEXT NOT NULL,
    current_kid TEXT NOT NULL,
    current_iat BIGINT NOT NULL,
    current_exp BIGINT NOT NULL,
    previous_jti TEXT,
    rotated_at BIGINT,
    created_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX refresh_families_user_id ON refresh_families (user_id);
CREATE INDEX refresh_families_current_exp ON refresh_families (current_exp);
CREATE INDEX refresh_families_revoked_at ON refresh_families (revoked_at);

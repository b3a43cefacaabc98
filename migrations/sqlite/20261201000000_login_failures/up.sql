-- One row per failed sign-in, counted within login.window by username, by client address and
-- by both (API.md §6). Throttled attempts add no row; the sweep deletes rows past the window.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    -- the username's lookup key (users.username_key), whether or not such a user exists
    username_key TEXT NOT NULL,
    -- the client address (IPv6: its /64 network)
    client_key TEXT NOT NULL,
    failed_at BIGINT NOT NULL,
    -- a success of this username from this address: no longer counted for the pair, still for
    -- the username and for the address
    pair_cleared BOOLEAN NOT NULL DEFAULT 0
);

CREATE INDEX login_failures_username_key ON login_failures (username_key, failed_at);
CREATE INDEX login_failures_client_key ON login_failures (client_key, failed_at);
CREATE INDEX login_failures_failed_at ON login_failures (failed_at);

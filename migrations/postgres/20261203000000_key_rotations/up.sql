-- Scheduled key rotation (keys.rotate_every, API.md §7): a row for each key that came due for
-- replacement, named by that key's creation time. Every replica that finds the newest key due
-- inserts its row, and the primary key lets exactly one insert succeed: that replica adds the
-- next key, then records it as done. A claim left undone by a replica that died can be taken
-- over once it is old (see src/keys/schedule.rs).
CREATE TABLE key_rotations (
    due_key_created_at BIGINT PRIMARY KEY NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    new_kid TEXT,
    completed_at BIGINT
);

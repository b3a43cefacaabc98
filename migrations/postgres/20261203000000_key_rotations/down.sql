DROP TABLE key_rotations;

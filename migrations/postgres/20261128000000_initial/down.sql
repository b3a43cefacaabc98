DROP TABLE refresh_families;
DROP TABLE users;

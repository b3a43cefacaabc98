DROP INDEX refresh_families_client_id;
ALTER TABLE refresh_families DROP COLUMN scope;
ALTER TABLE refresh_families DROP COLUMN client_id;
DROP TABLE oauth_clients;

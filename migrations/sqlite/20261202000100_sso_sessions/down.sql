DROP INDEX refresh_families_browser_session_id;
ALTER TABLE refresh_families DROP COLUMN auth_time;
ALTER TABLE refresh_families DROP COLUMN browser_session_id;
DROP TABLE authorization_codes;
DROP TABLE browser_sessions;

-- on: store
-- expect: written by a newer version (schema 99)
UPDATE meta SET value = '99' WHERE key = 'schema_version';

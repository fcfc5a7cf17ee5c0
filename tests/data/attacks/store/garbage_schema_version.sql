-- on: store
-- expect: unknown schema version ('banana')
UPDATE meta SET value = 'banana' WHERE key = 'schema_version';

-- on: store
-- expect: unknown schema version ('-3')
UPDATE meta SET value = '-3' WHERE key = 'schema_version';

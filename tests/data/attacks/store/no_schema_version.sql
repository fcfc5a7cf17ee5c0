-- on: store
-- expect: unknown schema version (none)
DELETE FROM meta;

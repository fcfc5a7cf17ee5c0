-- on: store
-- expect: unknown schema version ('
INSERT INTO meta VALUES ('schema_version', '2');

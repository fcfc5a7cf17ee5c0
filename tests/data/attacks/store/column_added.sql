-- on: store
-- expect: table datasets has columns
ALTER TABLE datasets ADD COLUMN patient_name VARCHAR;

-- on: store
-- expect: table assessments has columns
ALTER TABLE assessments ADD COLUMN patient_name VARCHAR;

-- on: store
-- expect: table(s) this program did not write: names
CREATE VIEW names AS SELECT patient_id AS name FROM assessments;

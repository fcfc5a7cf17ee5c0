-- on: store
-- expect: table(s) this program did not write: patients
CREATE TABLE patients (name VARCHAR, date_of_birth DATE);

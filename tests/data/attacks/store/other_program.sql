-- on: empty
-- expect: holds tables this program did not write (patients)
CREATE TABLE patients (name VARCHAR, date_of_birth DATE);
INSERT INTO patients VALUES ('Smith, John', DATE '1970-01-02');

-- on: store
-- expect: table audit has columns
DROP TABLE audit;
CREATE TABLE audit (id BIGINT, logged_at TIMESTAMP, actor VARCHAR, action VARCHAR, dataset_hash VARCHAR, detail VARCHAR);

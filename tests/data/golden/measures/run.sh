#!/bin/sh
# Regenerate the golden numbers of tests/test_measures_golden.py (from the repository root: sh tests/data/golden/measures/run.sh)
set -e
G=tests/data/golden/measures
P=tests/data/measures_practice.csv
T=tests/data/measures_practice_treatments.csv
Rscript $G/measures.R $P $T 60 most_recent - - $G/practice_default
Rscript $G/measures.R $P $T 60 any - - $G/practice_any
Rscript $G/measures.R $P $T 30 most_recent - - $G/practice_w30
Rscript $G/measures.R $P $T 30 any 2025-02 2025-04 $G/practice_any_w30_period
Rscript $G/measures.R $P - 60 most_recent - - $G/practice_no_treatments
Rscript $G/measures.R sample_data/assessments.csv sample_data/treatments.csv 60 most_recent - - $G/sample_default
Rscript $G/measures.R sample_data/assessments.csv sample_data/treatments.csv 30 any 2025-01 2025-12 $G/sample_any_w30_2025

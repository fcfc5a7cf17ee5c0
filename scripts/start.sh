#!/usr/bin/env bash
# Sets everything up and starts the dashboard on the sample practice: http://127.0.0.1:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -f sample_data/assessments.csv ] || .venv/bin/python -m analysis sample --out sample_data
# one BLAS thread per process: the model fits are small matrix products and short optimiser steps, which
# OpenBLAS threads slow down (several times over when the cores are busy serving other sessions)
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec .venv/bin/python -m streamlit run dashboard.py "$@"

"""analysis.memory: the programs' malloc setting keeps freed memory for reuse (measured in fresh processes: the
setting cannot be undone in this one)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# frees 64 MB of arrays of a given size, then asks for them again: the page faults of the second round
PROBE = """
import json, resource, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import analysis, analysis.ingest, analysis.metrics, analysis.report  # (imports alone change nothing)
from analysis import memory
tuned = memory.reuse_freed_memory() if sys.argv[2] == "tuned" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
size = int(sys.argv[3])  # floats per array
for _ in range(2):
    arrays = [np.ones(size) for _ in range(64_000_000 // (8 * size))]
    del arrays
before = faults()
arrays = [np.ones(size) for _ in range(64_000_000 // (8 * size))]
print(json.dumps({"tuned": tuned, "faults": faults() - before}))
"""


def probe(mode: str, size: int = 1_000_000) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT), mode, str(size)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
@pytest.mark.parametrize("size", [1_000_000, 8_000_000])  # 8 MB arrays; one of 64 MB (above glibc's 32 MB threshold)
def test_freed_arrays_are_handed_out_again_without_page_faults_once_set(size):
    plain, tuned = probe("plain", size), probe("tuned", size)
    assert tuned["tuned"] is True
    # glibc as it is hands the freed 64 MB back and faults it in again (~4,000 faults here, 4 KB pages), also after
    # the analysis modules are imported: only the programs set it
    if plain["faults"] < 100:
        pytest.skip("this system faults nothing in again (huge pages, or a malloc that keeps freed memory anyway)")
    assert tuned["faults"] * 10 <= plain["faults"]


def test_each_program_that_runs_the_analysis_sets_it():
    for program in ("dashboard.py", "analysis/__main__.py", "bench/bench_ingest.py", "bench/bench_analysis.py"):
        assert "memory.reuse_freed_memory()" in (ROOT / program).read_text(), program

"""The code is formatted and linted by ruff (settings in pyproject.toml: 120 columns)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_code_is_formatted_as_ruff_formats_it():
    done = ruff("format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_code_passes_ruff_lint():
    done = ruff("check", ".")
    assert done.returncode == 0, done.stdout + done.stderr

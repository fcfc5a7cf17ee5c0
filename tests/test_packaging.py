"""The library installs with pip (pyproject.toml) and brings its command line as `ketamine-outcomes`."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pip_installs_the_library_and_its_command(tmp_path):
    source = tmp_path / "source"  # (a copy: the build leaves its folders beside the sources)
    shutil.copytree(ROOT / "analysis", source / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr
    installed = target / "analysis"
    assert (installed / "instruments.csv").is_file() and (installed / "cards" / "default.json").is_file()

    # the console command runs the installed copy (not the checkout): from an empty folder, on the sample data
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [
            str(target / "bin" / "ketamine-outcomes"),
            "validate",
            str(ROOT / "sample_data" / "assessments.csv"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert '"ok": true' in run.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import analysis; print(analysis.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert where.stdout.strip().startswith(str(target))

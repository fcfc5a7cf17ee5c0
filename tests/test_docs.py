"""The README's links lead to files in the repository, and the browser tests' screenshots land outside tracked
files unless asked for (issue 20, item 10)."""

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_relative_link_and_picture_of_the_readme_is_a_file_of_the_repository():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t and t[0] != "#"]
    assert "docs/DESIGN.md" in links, "the README points to the design contract"
    missing = [t for t in links if not (ROOT / t).exists()]
    assert not missing, missing
    # a bare mention of DESIGN.md is a dead end: every one is a link to docs/DESIGN.md
    assert not re.search(r"(?<![/\[])DESIGN\.md(?!\])", text.replace("[docs/DESIGN.md](docs/DESIGN.md)", ""))


def test_browser_screenshots_go_to_an_ignored_folder_unless_update_screenshots_is_set(monkeypatch):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    import tests.test_browser as browser

    monkeypatch.delenv("UPDATE_SCREENSHOTS", raising=False)
    shots = importlib.reload(browser).SHOTS
    assert shots == ROOT / "build" / "screenshots"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(shots / "overview.png")], cwd=ROOT)
    assert ignored.returncode == 0, "build/screenshots must be ignored by git"
    monkeypatch.setenv("UPDATE_SCREENSHOTS", "1")
    assert importlib.reload(browser).SHOTS == ROOT / "docs" / "screenshots"
    monkeypatch.delenv("UPDATE_SCREENSHOTS")
    importlib.reload(browser)

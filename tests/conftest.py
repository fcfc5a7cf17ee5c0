"""Shared fixtures: a fresh Streamlit cache for page tests; a real server and Chromium for browser tests."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from analysis.config import DATA_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def saved_data_sets_in_a_temporary_folder(tmp_path_factory):
    """In-process tests (AppTest) save data sets under a temporary folder, never the repository's data/."""
    before = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(tmp_path_factory.mktemp("outcomes-data"))
    yield
    if before is None:
        os.environ.pop(DATA_DIR_ENV, None)
    else:
        os.environ[DATA_DIR_ENV] = before


#: a sign-in configuration for AppTest (its provider is never called: AppTest sets the user itself)
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "s" * 64,
    "client_id": "dashboard",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = {"managers": ["@clinic.org"], "clinicians": ["carol@clinic.org"]}
SECRETS = {"auth": AUTH, "access": ACCESS}


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data folder for one test (the dashboard's store is opened anew on it); its path."""
    from ui import gate

    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    gate._open_store.clear()
    yield tmp_path / "data"
    gate._open_store.clear()


@contextmanager
def streamlit_server(data_dir: Path, *args: str, port: int | None = None, env: dict | None = None):
    """`streamlit run dashboard.py ARGS` on 127.0.0.1 (a free port unless given) with its saved data sets in
    ``data_dir`` and ``env`` added to its environment; yields (URL, process). Output goes to a temp file; the
    process is stopped by its own PID."""
    port = port or _free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
            *args,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            "OPENBLAS_NUM_THREADS": "1",
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            DATA_DIR_ENV: str(data_dir),
            **(env or {}),
        },
    )  # (one BLAS thread, as scripts/start.sh)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.25)
        else:
            pytest.fail(f"streamlit did not start; its output:\n{Path(log.name).read_text()}")
        if proc.poll() is not None:
            pytest.fail(f"streamlit stopped; its output:\n{Path(log.name).read_text()}")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.unlink(log.name)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard served on a free 127.0.0.1 port with an empty data folder; its URL."""
    with streamlit_server(tmp_path_factory.mktemp("data")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright. Skipped when it is missing, except in CI (CI=true)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM}: CI needs it (apt-get install -y chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

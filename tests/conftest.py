"""Shared fixtures: how to run the real command line, where the test programs and peer data are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).parent / "programs"
EXAMPLES = ROOT / "examples"
PEER_DATA = Path(__file__).parent / "data" / "peer"  # ORIGIN.md: where each file comes from


@pytest.fixture(scope="session", autouse=True)
def _own_local_profile(tmp_path_factory):
    """The tests never read or write the user's measured profile (``~/.cache/phasm-perf/local.yaml``): a session
    of its own measures this machine once, the first time a test needs ``--hardware local``."""
    if "PHASM_PERF_LOCAL_PROFILE" in os.environ:
        yield
        return
    os.environ["PHASM_PERF_LOCAL_PROFILE"] = str(tmp_path_factory.mktemp("hardware") / "local.yaml")
    try:
        yield
    finally:
        os.environ.pop("PHASM_PERF_LOCAL_PROFILE", None)


def run_cli(*args: str, cwd: str | os.PathLike | None = None, env: dict | None = None, timeout: float = 300,
            check: bool = False) -> subprocess.CompletedProcess:
    """Run ``phasm-perf ARGS`` as a user would (a separate process), capturing its output."""
    full_env = dict(os.environ)
    full_env.setdefault("COLUMNS", "160")
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "phasm_perf", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"phasm-perf {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}")
    return proc


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def programs() -> Path:
    return PROGRAMS


@pytest.fixture
def peer_data() -> Path:
    """Other projects' profiles (FlameGraph's perf tests, speedscope's samples), kept in the repository."""
    assert PEER_DATA.is_dir(), f"{PEER_DATA} is missing: it is part of the repository"
    return PEER_DATA


def assert_one_line_error(proc: subprocess.CompletedProcess) -> str:
    """A user error: non-zero exit, one line on stderr starting 'phasm-perf: error:', no traceback."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("phasm-perf: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real ``mlflow server`` on a free port of 127.0.0.1 (sqlite backend, served artifacts), for the session;
    yields its URI."""
    import shutil
    import time
    import urllib.request

    pytest.importorskip("mlflow")
    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if exe is None:
        pytest.skip("the mlflow command is not installed")
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen([exe, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                             "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
                             "--artifacts-destination", str(root / "artifacts")],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                            # no job runner: phasm-perf uses none, and its seven polling consumers kept about a
                            # sixth of a core busy for the rest of the session, under the timing tests
                            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        import signal

        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def no_leaked_tracking_uri():
    """``mlflow.set_tracking_uri`` (called by tests to read the stores) also sets $MLFLOW_TRACKING_URI, which later
    tests' commands would inherit: restored after each test that uses this."""
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if saved is not None:
        os.environ["MLFLOW_TRACKING_URI"] = saved

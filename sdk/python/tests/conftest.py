"""Fixtures starting a real Floe server for the integration tests.

The server is the `floe` binary (FLOE_BIN, default <repo>/bin/floe) on the
embedded default: SQLite Iceberg catalog and in-process online store under a
temporary directory. It is started once per session with the pricing example
data ingested and materialized, and killed at the end. When a test using it
fails, the server's log is attached to the report.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# The floe.keras tests run Keras on JAX on the CPU, whatever a developer's shell
# says: the results they assert are those of that backend. Keras reads the
# variable when first imported, which is after conftest.py is loaded.
os.environ["KERAS_BACKEND"] = "jax"
os.environ["JAX_PLATFORMS"] = "cpu"

REPO = Path(__file__).resolve().parents[3]

# Bounds on each step, generous for a cold 2-core machine; the fixture never
# waits longer than a step needs, it polls.
STEP_TIMEOUT_S = 180.0
READY_TIMEOUT_S = 60.0


@dataclasses.dataclass(frozen=True)
class FloeServer:
    """A running server and the example data it was loaded with."""

    address: str  # "127.0.0.1:PORT"
    url: str  # "http://127.0.0.1:PORT"
    csv_files: dict[str, Path]  # view → CSV ingested into it
    log_path: Path
    config_path: Path


def _floe_bin() -> Path:
    path = Path(os.environ.get("FLOE_BIN") or REPO / "bin" / "floe")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"floe binary not found at {path}: build it with "
            "`go build -o bin/floe ./services/featureserver/cmd/floe` from the "
            "repository root, or set FLOE_BIN (or deselect with -m 'not integration')",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    # The port is released before the server binds it; nothing else on a test
    # machine races for ephemeral ports fast enough for that to matter.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env() -> dict[str, str]:
    # FLOE_* variables override the config file; a developer's shell must not
    # redirect the test server to their own data or port.
    return {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}


def _run(args: list[str], env: dict[str, str]) -> str:
    try:
        proc = subprocess.run(
            args,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(
            f"{' '.join(args)} did not finish in {STEP_TIMEOUT_S}s:\n{err.stderr}"
        )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
            pytrace=False,
        )
    return proc.stdout


def _wait_ready(url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"floe serve exited {server.returncode} before becoming ready; log:\n"
                + log_path.read_text(errors="replace"),
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code}"
        except OSError as err:
            last = str(err)
        time.sleep(0.05)  # poll interval, not a wait for an outcome
    pytest.fail(
        f"floe serve not ready within {READY_TIMEOUT_S}s ({last}); log:\n"
        + log_path.read_text(errors="replace"),
        pytrace=False,
    )


@pytest.fixture(scope="session")
def floe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloeServer]:
    """Starts `floe serve` on the pricing example, ingested and materialized."""
    floe = str(_floe_bin())
    env = _clean_env()
    root = tmp_path_factory.mktemp("floe")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    url = f"http://{address}"
    config = root / "floe.yaml"
    config.write_text(
        f"listen: {address}\n"
        f"specs: {REPO / 'specs' / 'examples' / 'pricing'}\n"
        f"data_dir: {root / 'data'}\n"
        "online:\n"
        "  type: memory\n"
    )

    out = _run(
        [floe, "example-data", "--project", "pricing", "--out", str(root / "csv")], env
    )
    csv_files: dict[str, Path] = {}
    for line in out.splitlines():
        if line.strip():
            view, path = line.split(maxsplit=1)
            csv_files[view] = Path(path)
    assert set(csv_files) == {"user_profile", "user_behavior"}, out
    for view, path in csv_files.items():
        _run(
            [
                floe,
                "ingest",
                "--config",
                str(config),
                "--view",
                view,
                "--file",
                str(path),
            ],
            env,
        )

    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [floe, "serve", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(url, server, log_path)
        _run([floe, "materialize", "--config", str(config), "--server", url], env)
        yield FloeServer(address, url, csv_files, log_path, config)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    server = getattr(item, "funcargs", {}).get("floe_server")
    if report.failed and isinstance(server, FloeServer) and server.log_path.exists():
        report.sections.append(
            ("floe server log", server.log_path.read_text(errors="replace"))
        )
    return report

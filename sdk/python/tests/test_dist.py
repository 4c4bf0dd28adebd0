"""The built distributions install into a clean environment and work.

`make test-dist` builds the wheel and the sdist (`make dist-python`) and runs
this module with FLOE_DIST naming their directory; without it, the tests skip.
Each artifact is installed with pip into a new virtual environment (its
dependencies come from the package index, as for a user) and dist_smoke.py runs
there against the test server: import, version, the generated classes, a read.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

from floe._version import __version__

pytestmark = [pytest.mark.integration, pytest.mark.dist]

SMOKE = Path(__file__).with_name("dist_smoke.py")


def _artifact(pattern: str) -> Path:
    where = os.environ.get("FLOE_DIST")
    if not where:
        pytest.skip("FLOE_DIST is not set: `make test-dist` builds and tests the packages")
    found = sorted(Path(where).glob(pattern))
    assert len(found) == 1, f"want one {pattern} in {where}, found {found}"
    return found[0]


def _run(args: list[str], cwd: Path) -> str:
    # The environment of this process must not leak in: no PYTHONPATH, and the
    # working directory is outside the repository.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


@pytest.mark.parametrize(
    "pattern",
    [f"floe_features-{__version__}-py3-none-any.whl", f"floe_features-{__version__}.tar.gz"],
    ids=["wheel", "sdist"],
)
def test_artifact_installs_and_serves(
    pattern: str, tmp_path: Path, floe_server  # type: ignore[no-untyped-def]
) -> None:
    artifact = _artifact(pattern)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    _run([python, "-m", "pip", "install", "-q", str(artifact)], tmp_path)
    out = _run([python, "-I", str(SMOKE), floe_server.address, __version__], tmp_path)
    assert f"floe-features {__version__}" in out, out
    # Nothing but the package: the tests and the build scripts stay behind.
    listed = _run([python, "-m", "pip", "show", "-f", "floe-features"], tmp_path)
    assert "floe/features/pricing.py" in listed and "tests/" not in listed, listed

"""Prints the SDK's dependency floors as pip constraints ("name==version" lines).

Reads pyproject.toml: every ">=" bound of the core dependencies and of the extras
named on the command line becomes a pin, so `make test-python-floor` installs the
lowest versions the package claims to support, and the floors are written only in
pyproject.toml. A dependency without a ">=" bound is left out (pip picks it).

    python scripts/floor_pins.py training pandas progress > floor.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

_FLOOR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*([^;]*)")


def floors(requirements: list[str]) -> dict[str, str]:
    """Maps each requirement's name to the version of its ">=" bound."""
    out: dict[str, str] = {}
    for req in requirements:
        if ";" in req:  # platform-specific: not part of the portable floor
            continue
        m = _FLOOR.match(req)
        if m is None:
            raise SystemExit(f"cannot parse requirement {req!r}")
        name, spec = m.group(1), m.group(3)
        for part in spec.split(","):
            part = part.strip()
            if part.startswith(">="):
                out[name] = part[2:].strip()
    return out


def main(extras: list[str]) -> int:
    project = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    )["project"]
    reqs = list(project["dependencies"])
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra {extra!r}")
        reqs += optional[extra]
    for name, version in sorted(floors(reqs).items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

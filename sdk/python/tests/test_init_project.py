"""A project made by `floe init` outside this repository, run as its README says:
validate, serve, ingest, materialize, read over HTTP, and generate the project's own
typed Python client, which then reads the features it defines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import floe
from conftest import _clean_env, _floe_bin, _free_port, _run, _wait_ready

pytestmark = pytest.mark.integration


def test_init_project_serves_and_generates_its_client(tmp_path: Path) -> None:
    floe_bin = str(_floe_bin())
    repo = Path(__file__).resolve().parents[3]
    assert repo not in tmp_path.parents, "the project must live outside the repository"
    project = tmp_path / "shop"
    env = _clean_env()
    _run([floe_bin, "init", str(project)], env)

    port = _free_port()
    address = f"127.0.0.1:{port}"
    url = f"http://{address}"
    env["FLOE_LISTEN"] = address

    def floe_cmd(*args: str) -> str:
        proc = subprocess.run(
            [floe_bin, *args], cwd=project, env=env, capture_output=True, text=True, timeout=180
        )
        assert proc.returncode == 0, f"floe {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    assert "feature service shop_model_v1: 3 features" in floe_cmd("validate")
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [floe_bin, "serve"], cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(url, server, log_path)
        floe_cmd("ingest", "--view", "customer_stats", "--file", "data/customer_stats.csv")
        floe_cmd("materialize", "--server", url)
        with urllib.request.urlopen(f"{url}/v1/features/customer/1", timeout=10) as resp:
            row = json.load(resp)
        assert set(row) == {
            "customer_stats:orders_30d",
            "customer_stats:spend_30d",
            "customer_stats:country",
        }, row

        out = floe_cmd("gen", "--out", "gen", "--lang", "python", "--python-package", "shop_features")
        module = project / "gen" / "python" / "shop_features" / "shop.py"
        assert f"wrote {Path('gen/python/shop_features/shop.py')}" in out, out
        assert module.exists()
        assert not (project / "gen" / "ts").exists(), "--lang python wrote other languages"

        # The generated client, imported from the project's own tree.
        sys.path.insert(0, str(project / "gen" / "python"))
        try:
            from shop_features.shop import ShopModelV1  # type: ignore[import-not-found]

            with floe.Client(address) as client:
                res = ShopModelV1.get(client, {"customer_id": [1, 2, 100_000]})
            assert res.feature_names == ShopModelV1.FEATURES
            assert ShopModelV1.FEATURES == (
                "customer_stats:orders_30d",
                "spend_30d_log",
                "customer_stats:country",
            )
            x = res.to_numpy()
            assert x.shape == (3, 3)
            # Customer 1's spend, as served raw over HTTP, comes back through the
            # service's transform (fill_null, clip, log1p).
            assert x[0, 1] == pytest.approx(np.log1p(row["customer_stats:spend_30d"]))
            # An unknown customer is NOT_FOUND, except where fill_null filled it.
            assert res.statuses[2].tolist() == [2, 6, 2]
        finally:
            sys.path.remove(str(project / "gen" / "python"))
            for name in [m for m in sys.modules if m.startswith("shop_features")]:
                del sys.modules[name]
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert os.path.exists(project / ".floe"), "the embedded catalog lives in the project"

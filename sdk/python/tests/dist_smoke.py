"""Smoke test of an installed floe-features distribution (run by test_dist.py).

Runs in a fresh virtual environment holding only the built wheel or sdist and
its dependencies, with ``python -I`` from a directory outside the repository, so
``import floe`` can only find the installed package:

    python -I dist_smoke.py ADDRESS VERSION
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import sys
from pathlib import Path


def main(address: str, version: str) -> None:
    import floe
    from floe.features.pricing import PricingAgentV1
    from floe.v1 import serving_pb2, serving_pb2_grpc  # noqa: F401

    here = Path(floe.__file__).resolve()
    assert "site-packages" in here.parts, f"floe imported from {here}"
    assert floe.__version__ == version, (floe.__version__, version)
    assert importlib.metadata.version("floe-features") == version
    # Type information ships with the code.
    assert (here.parent / "py.typed").is_file()
    assert (here.parent / "v1" / "serving_pb2.pyi").is_file()

    with floe.Client(address) as client:
        feats = PricingAgentV1.get(client, {"user_id": [42, 7]})
        assert feats.feature_names == PricingAgentV1.FEATURES
        assert (feats.statuses == 1).all(), feats.statuses
        assert feats.to_numpy().shape == (2, len(PricingAgentV1.FEATURES))

    async def read_async() -> floe.OnlineFeatures:
        async with floe.AsyncClient(address) as client:
            return await client.get_online_features(
                PricingAgentV1.NAME, {"user_id": [42]}
            )

    feats = asyncio.run(read_async())
    assert feats.row_count == 1 and (feats.statuses == 1).all()
    print(f"floe-features {version} from {here.parent}: ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

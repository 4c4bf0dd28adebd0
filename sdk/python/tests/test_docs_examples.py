"""The Python examples of the README and of this SDK's README, run as written.

Every ```python block of each document runs, in order and in one namespace (a
later block uses the client an earlier one made), against a real server loaded
with the pricing example's data. Only the server address is replaced. What a
reader is assumed to bring (their model, their outcomes, an Iceberg table of
labelled events) is made first, in `_what_the_reader_brings`. After the blocks
ran, a few of their results are checked, so an example that silently stops
finding data fails too. Tracebacks point at the document's own lines.

Example data is written with event times in the hours before the server
starts, so the examples must be relative to now, never to a calendar date.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
DOCS = {
    "README.md": REPO / "README.md",
    "sdk/python/README.md": REPO / "sdk" / "python" / "README.md",
}
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# The address the documents use; the test server listens elsewhere.
DOC_ADDRESS = "127.0.0.1:8080"


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """Each python block of a Markdown file: (line of its first code line, code)."""
    text = path.read_text()
    return [
        (text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)
    ]


def test_every_document_has_examples() -> None:
    for name, path in DOCS.items():
        assert python_blocks(path), f"{name} has no python block: is BLOCK still right?"


def _quotes_table(server: Any) -> None:
    """The Iceberg table of labelled events the SDK README trains from, as another
    engine would write it (pyiceberg on the server's SQL catalog)."""
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.schema import Schema
    from pyiceberg.types import DoubleType, LongType, NestedField, TimestamptzType

    data = server.config_path.parent / "data"
    catalog = SqlCatalog(
        "floe",
        uri=f"sqlite:///{data / 'catalog.db'}",
        warehouse=f"file://{data / 'warehouse'}",
        init_catalog_tables="false",
    )
    if catalog.table_exists("pricing.quotes"):
        return
    schema = Schema(
        NestedField(1, "user_id", LongType(), required=False),
        NestedField(2, "event_time", TimestamptzType(), required=False),
        NestedField(3, "converted", DoubleType(), required=False),
    )
    now = dt.datetime.now(dt.timezone.utc)
    catalog.create_table("pricing.quotes", schema=schema).append(
        pa.table(
            {
                "user_id": pa.array([42, 7, 3], pa.int64()),
                "event_time": pa.array([now] * 3, pa.timestamp("us", "UTC")),
                "converted": pa.array([1.0, 0.0, 1.0]),
            }
        )
    )


def _what_the_reader_brings(server: Any, doc: str) -> dict[str, Any]:
    import keras

    from floe.features.pricing import PricingAgentV2

    model = keras.Sequential(
        [keras.Input((len(PricingAgentV2.FEATURES),)), keras.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    ns: dict[str, Any] = {"__name__": f"docs:{doc}", "model": model}
    if doc == "README.md":
        now = dt.datetime.now(dt.timezone.utc)
        ns.update(
            ids=[42, 7, 3, 11],
            times=[now - dt.timedelta(minutes=m) for m in (0, 10, 20, 30)],
            labels=[1.0, 0.0, 1.0, 0.0],
        )
    else:
        _quotes_table(server)
    return ns


def _run_document(doc: str, server: Any) -> dict[str, Any]:
    ns = _what_the_reader_brings(server, doc)
    path = DOCS[doc]
    for line, code in python_blocks(path):
        code = code.replace(DOC_ADDRESS, server.address)
        # Leading newlines keep the line numbers of the document in tracebacks.
        exec(compile("\n" * (line - 1) + code, str(path), "exec"), ns)  # noqa: S102
    return ns


def test_readme(floe_server) -> None:  # type: ignore[no-untyped-def]
    ns = _run_document("README.md", floe_server)
    res, past, replay = ns["res"], ns["past"], ns["replay"]
    # User 42 and 7 exist in the example data, with every feature present.
    assert (res.statuses == 1).all(), res.statuses
    # Nothing was committed after decided_at: as of then, and replaying the
    # snapshots, gives what the model read.
    np.testing.assert_array_equal(past.to_numpy(), res.to_numpy()[:1])
    np.testing.assert_array_equal(replay.to_numpy(), res.to_numpy()[:1])
    assert ns["changed"] == [] or not any(ns["changed"]), ns["changed"]
    table, same = ns["table"], ns["same"]
    assert table.num_rows == 2 and table.equals(same)
    # Both rows find their features: the data's event times precede decided_at.
    for column in ("user_profile__age", "user_behavior__sessions_7d"):
        assert table.column(column).null_count == 0, table
    assert ns["x"].shape == (1, len(ns["PricingAgentV2"].FEATURES))


def test_sdk_readme(floe_server) -> None:  # type: ignore[no-untyped-def]
    ns = _run_document("sdk/python/README.md", floe_server)
    x = ns["x"]
    assert x.shape == (2, len(ns["PricingAgentV2"].FEATURES))
    assert not ns["data"].missing().all()
    assert ns["y"].tolist() == [1.0, 0.0]
    assert ns["again"].table.equals(ns["table"])
    assert ns["same"].table.equals(ns["data"].table)
    assert ns["pin"].table == "pricing.quotes"

"""examples/keras_pricing, end to end against a real server: train on
point-in-time training data, save, reload, score online — and the parity the
example rests on: for the same user and time, the training row and the online
vector are the same numbers."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pytest

import floe
from floe.features.pricing import PricingAgentV2
from floe.v1 import serving_pb2

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "keras_pricing" / "pricing_model.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pricing_model", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["pricing_model"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(floe_server):  # type: ignore[no-untyped-def]
    with floe.Client(floe_server.address) as c:
        yield c


def test_training_row_equals_online_vector(client: floe.Client) -> None:
    # Known users, a user with no data at all, read at one moment both ways.
    users = [*range(0, 200, 7), 999_999]
    online = client.get_online_features(PricingAgentV2.NAME, {"user_id": users})
    at = dt.datetime.now(dt.timezone.utc)
    rows = {"user_id": users, "event_time": pa.array([at] * len(users), pa.timestamp("us", "UTC"))}
    training = client.get_training_data(PricingAgentV2.NAME, rows)

    assert training.feature_names == PricingAgentV2.FEATURES == online.feature_names
    x_train, x_online = training.to_numpy(), online.to_numpy()
    assert x_train.shape == (len(users), len(PricingAgentV2.FEATURES))
    # Bit for bit, NaN (missing, not filled) in the same places.
    np.testing.assert_array_equal(x_train, x_online)
    assert x_train.dtype == x_online.dtype == np.float64
    # The unknown user: fill_null supplied age_bucket and city_index (status
    # FILLED online), the rest is missing in both.
    unknown = x_online[-1]
    assert unknown[0] == 0 and unknown[1] == 0
    assert np.isnan(unknown[2:]).all()
    assert (online.statuses[-1, :2] == serving_pb2.FEATURE_STATUS_FILLED).all()


def test_example_trains_saves_and_scores(example: ModuleType, client: floe.Client, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    events = example.outcomes(client, range(300), now)
    labels = np.asarray(events["converted"])
    assert 0 < labels.sum() < labels.size  # both classes

    model, manifest = example.train(client, events, epochs=3)
    assert manifest.entity_rows == events.num_rows
    assert list(manifest.columns) == [
        "age_bucket", "city_index", "sessions_7d_log", "purchases_30d_log",
        "avg_order_value_30d_z", "cart_abandon_rate_7d",
        "user_behavior__price_sensitivity", "is_premium",
    ]

    path = tmp_path / "model.keras"
    model.save(path)
    import keras

    loaded = keras.saving.load_model(path)
    users = [1, 2, 3, 999_999]
    scores = example.score_online(client, loaded, users)
    assert scores.shape == (4,) and np.isfinite(scores).all()
    # The reloaded model scores the same inputs the same way.
    x = client.get_online_features(PricingAgentV2.NAME, {"user_id": users}).to_numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], scores, rtol=1e-6)
    # It learned the simulated dependence on price sensitivity: sensitive users
    # (high price_sensitivity) get a lower conversion probability on average.
    data = client.get_training_data(PricingAgentV2.NAME, events.select(["user_id", "event_time"]))
    xs = data.to_numpy()
    p = loaded.predict(xs, verbose=0)[:, 0]
    s = xs[:, list(PricingAgentV2.FEATURES).index("user_behavior:price_sensitivity")]
    ok = ~np.isnan(s)
    assert p[ok][s[ok] > 0.7].mean() < p[ok][s[ok] < 0.3].mean()

"""Train a Keras model on Floe's point-in-time training data, then score online.

The pricing agent's feature service ``pricing_agent_v2`` (specs/examples/pricing)
declares its preprocessing, so the server returns the features transformed — by
the same Go code for training data and for online reads. The model therefore
takes the 8 transformed features as they come, in the service's order, and a
training row equals the online vector of the same user at the same moment.

Steps (each a function, so tests and notebooks can run them one by one):

1. ``outcomes``: the labelled events to learn from — here simulated: a quote
   shown to a user at some time and whether it converted. In production they
   come from your events table.
2. ``fetch_training_data``: features of each event's user as of the event's
   time, never later (point-in-time correct), spooled to disk and served to
   ``model.fit`` in batches.
3. ``build_model`` / ``train``: a small binary classifier. Missing values are
   NaN in the SDK's arrays; the model's first layer turns them into zeros plus
   a missing-indicator per feature, so the model owns its missing-value policy.
4. ``score_online``: the same features read online for live users, through the
   saved and reloaded model.

Run it against a server with the pricing example loaded (``run.sh`` starts one):

    python examples/keras_pricing/pricing_model.py --server 127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

import floe  # noqa: E402
from floe.features.pricing import PricingAgentV1, PricingAgentV2  # noqa: E402
from floe.keras_data import TrainingDataset  # noqa: E402

SERVICE = PricingAgentV2.NAME


@keras.saving.register_keras_serializable(package="floe_examples")
class MissingIndicator(keras.layers.Layer):
    """x → [x with NaN as 0, 1 where x was NaN]: (batch, n) → (batch, 2n)."""

    def call(self, x: Any) -> Any:
        missing = keras.ops.isnan(x)
        filled = keras.ops.where(missing, keras.ops.zeros_like(x), x)
        return keras.ops.concatenate([filled, keras.ops.cast(missing, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], 2 * input_shape[-1])


def outcomes(
    client: floe.Client,
    user_ids: Sequence[int],
    at: dt.datetime,
    quotes_per_user: int = 3,
    seed: int = 7,
) -> pa.Table:
    """Simulates quote outcomes: user, time shown, converted (0/1).

    Quotes are spread over the hour before ``at``. Whether a quote converted is
    drawn from the user's raw price sensitivity and premium flag *at that time*
    (read point-in-time correct from pricing_agent_v1), so the label depends on
    the features the model will see — as real outcomes would.
    """
    rng = np.random.default_rng(seed)
    ids = np.repeat(np.asarray(user_ids, dtype=np.int64), quotes_per_user)
    offsets = rng.uniform(0, 3600, size=ids.size)
    times = [at - dt.timedelta(seconds=float(s)) for s in offsets]
    raw = client.get_training_data(
        PricingAgentV1.NAME, {"user_id": ids, "event_time": pa.array(times, pa.timestamp("us", "UTC"))}
    )
    x = raw.to_numpy(dtype=object)
    names = list(raw.feature_names)
    sensitivity = np.asarray(x[:, names.index("user_behavior:price_sensitivity")], dtype=float)
    premium = np.asarray(x[:, names.index("user_behavior:is_premium")], dtype=float)
    logit = 3.0 * (0.5 - np.nan_to_num(sensitivity, nan=1.0)) + 1.0 * np.nan_to_num(premium)
    converted = (rng.uniform(size=ids.size) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pa.table(
        {
            "user_id": ids,
            "event_time": pa.array(times, pa.timestamp("us", "UTC")),
            "converted": converted,
        }
    )


def fetch_training_data(
    client: floe.Client, events: pa.Table, batch_size: int = 64, **options: Any
) -> TrainingDataset:
    """The features of each event's user as of its time, as batches for fit."""
    return TrainingDataset.fetch(
        client, SERVICE, events, labels="converted", batch_size=batch_size, **options
    )


def build_model(num_features: int = len(PricingAgentV2.FEATURES), seed: int = 7) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(num_features,), name="pricing_agent_v2")
    h = MissingIndicator()(inputs)
    h = keras.layers.Dense(16, activation="relu")(h)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="p_convert")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["auc"])
    return model


def train(client: floe.Client, events: pa.Table, epochs: int = 5, verbose: int = 0) -> tuple[keras.Model, Any]:
    """Trains on point-in-time features; returns the model and the dataset
    manifest (snapshots read, spec hash) to store next to it."""
    model = build_model()
    with fetch_training_data(client, events, shuffle=True, seed=7) as data:
        model.fit(data, epochs=epochs, verbose=verbose)
        manifest = data.data.manifest
    return model, manifest


def score_online(client: floe.Client, model: keras.Model, user_ids: Sequence[int]) -> np.ndarray:
    """Conversion probability per user from the features served now."""
    online = client.get_online_features(SERVICE, {"user_id": list(user_ids)})
    return model.predict(online.to_numpy(), verbose=0)[:, 0]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default="127.0.0.1:8080")
    ap.add_argument("--users", type=int, default=1000, help="users 0..N-1 to train on")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default=".floe/keras_pricing/model.keras")
    args = ap.parse_args(argv)

    with floe.Client(args.server) as client:
        now = dt.datetime.now(dt.timezone.utc)
        events = outcomes(client, range(args.users), now)
        print(f"{events.num_rows} quote outcomes, {sum(events['converted'].to_pylist())} converted")
        model, manifest = train(client, events, epochs=args.epochs, verbose=2)
        snaps = ", ".join(f"{v}@{s}" for v, s in sorted(manifest.snapshot_ids.items()))
        print(f"trained on {manifest.entity_rows} rows from {snaps} (spec {manifest.spec_hash[:12]})")
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        model.save(args.out)
        loaded = keras.saving.load_model(args.out)
        users = [1, 2, 3, 999_999]
        for user, p in zip(users, score_online(client, loaded, users)):
            print(f"user {user}: p(convert) = {p:.3f}")
        print(f"model saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

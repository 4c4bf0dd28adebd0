"""floe.keras_data.TrainingDataset against a real `floe serve`: batches, labels,
shuffling, the spool on disk, and model.fit over it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
pa = pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import floe  # noqa: E402
from floe.features.pricing import PricingAgentV1, PricingAgentV2  # noqa: E402
from floe.keras_data import TrainingDataset  # noqa: E402

from test_training_integration import entity_rows, now_utc  # noqa: E402

pytestmark = pytest.mark.integration

# Two server record batches (65,536 rows each at most), so batch 65 of 1,000
# rows straddles them.
N = 70_000
BATCH = 1_000


@pytest.fixture(scope="module")
def client(floe_server) -> Iterator[floe.Client]:
    with floe.Client(floe_server.url) as c:
        yield c


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    return entity_rows(N, seed=7)  # label == row index


@pytest.fixture(scope="module")
def data(client, rows) -> floe.TrainingData:
    return client.get_training_data(PricingAgentV2.NAME, rows, timeout=120)


@pytest.fixture(scope="module")
def dataset(client, rows, tmp_path_factory) -> Iterator[TrainingDataset]:
    with TrainingDataset.fetch(
        client,
        PricingAgentV2.NAME,
        rows,
        labels="label",
        batch_size=BATCH,
        dtype="float64",
        spool_dir=str(tmp_path_factory.mktemp("spool")),
        timeout=120,
    ) as ds:
        yield ds


def test_len_and_batches_are_the_training_data_in_order(dataset, data):
    assert len(dataset) == N // BATCH == 70
    assert dataset.feature_names == PricingAgentV2.FEATURES
    x_all = data.to_numpy()
    for i in (0, 1, 65, 69):  # 65 straddles the server's two record batches
        x, y = dataset[i]
        lo = i * BATCH
        np.testing.assert_array_equal(x, x_all[lo : lo + BATCH])
        np.testing.assert_array_equal(y, np.arange(lo, lo + BATCH))
    with pytest.raises(IndexError):
        dataset[70]


def test_the_last_batch_may_be_short(client, rows, data):
    with TrainingDataset.fetch(
        client,
        PricingAgentV2.NAME,
        rows.slice(0, 2_500),
        labels="label",
        batch_size=1_000,
        timeout=60,
    ) as ds:
        assert len(ds) == 3
        x, y = ds[2]
        assert x.shape == (500, len(PricingAgentV2.FEATURES))
        assert x.dtype == np.dtype(keras.config.floatx())
        np.testing.assert_array_equal(y, np.arange(2_000, 2_500))


def test_shuffling_serves_every_row_once_per_epoch_with_its_label(
    client, rows, data, tmp_path
):
    x_all = data.to_numpy()
    with client.stream_training_data(PricingAgentV2.NAME, rows, timeout=120) as stream:
        spool = stream.spool(str(tmp_path))
    with TrainingDataset(
        spool,
        labels="label",
        batch_size=BATCH,
        shuffle=True,
        seed=3,
        dtype="float64",
        close_data=True,
    ) as ds:
        epochs = []
        for _ in range(2):
            seen = []
            for i in range(len(ds)):
                x, y = ds[i]
                idx = y.astype(np.int64)
                np.testing.assert_array_equal(x, x_all[idx])  # features follow labels
                seen.append(idx)
            ds.on_epoch_end()
            order = np.concatenate(seen)
            assert np.array_equal(np.sort(order), np.arange(N))
            epochs.append(order)
        assert not np.array_equal(epochs[0], np.arange(N))
        assert not np.array_equal(epochs[0], epochs[1])
    assert not os.path.exists(spool.path)


def test_rows_split_weights_dict_inputs_and_label_dicts(client, rows, data, tmp_path):
    with client.stream_training_data(PricingAgentV2.NAME, rows, timeout=120) as stream:
        spool = stream.spool(str(tmp_path))
    with spool:
        val = TrainingDataset(
            spool,
            labels=["label"],
            sample_weight="label",
            inputs="dict",
            batch_size=500,
            rows=slice(60_000, None),
            dtype="float64",
        )
        assert len(val) == 20 and val.num_rows == 10_000
        x, y, w = val[0]
        assert list(x) == list(data.feature_columns)
        arrays = data.feature_arrays()
        for name, arr in x.items():
            np.testing.assert_array_equal(arr, arrays[name][60_000:60_500])
        np.testing.assert_array_equal(y["label"], np.arange(60_000, 60_500))
        np.testing.assert_array_equal(w, np.arange(60_000, 60_500))
        unlabeled = TrainingDataset(spool, batch_size=10)
        (x,) = unlabeled[0]
        assert x.shape == (10, 8)


def test_the_dataset_is_spooled_to_disk_not_held_in_memory(dataset):
    path = dataset.data.path
    assert os.path.getsize(path) > 0
    with pa.memory_map(path) as f:
        assert pa.ipc.open_file(f).read_all().num_rows == N
    maps = Path("/proc/self/maps")
    if maps.exists():  # Linux: the rows are read through a mapping of the file
        assert path in maps.read_text()
    # Nothing in the dataset but views of that mapping: no table of N rows.
    held = [
        v for v in vars(dataset).values() if isinstance(v, (pa.Table, pa.RecordBatch))
    ]
    assert held == []


def test_model_fit_runs_two_epochs(client, rows):
    with TrainingDataset.fetch(
        client,
        PricingAgentV2.NAME,
        rows.slice(0, 4_000),
        labels="label",
        batch_size=256,
        shuffle=True,
        seed=0,
        timeout=60,
    ) as ds:
        x, _ = ds[0]
        model = keras.Sequential(
            [
                keras.Input(shape=(x.shape[1],)),
                # Missing values arrive as NaN, as online; the model decides.
                keras.layers.Lambda(lambda t: keras.ops.nan_to_num(t)),
                keras.layers.Dense(4, activation="relu"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(ds, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_matrix_inputs_refuse_string_features(client, rows):
    with pytest.raises(ValueError, match='city.*inputs="dict"'):
        TrainingDataset.fetch(
            client, PricingAgentV1.NAME, rows.slice(0, 10), timeout=60
        )


@pytest.mark.parametrize(
    "labels, weight, message",
    [
        ("clicked", None, "label column 'clicked' is not a column of the entity rows"),
        (["label", "clicked"], None, "'clicked'"),
        ("label", "w", "'w' is not a column"),
        ("user_id", None, None),  # an int label is fine: class ids
    ],
)
def test_label_columns_are_checked_before_asking_the_server(
    client, rows, labels, weight, message
):
    small = rows.slice(0, 10)
    if message is None:
        with TrainingDataset.fetch(
            client,
            PricingAgentV2.NAME,
            small,
            labels=labels,
            sample_weight=weight,
            timeout=60,
        ) as ds:
            assert ds[0][1].dtype == np.int64
        return
    # An unknown service would be the server's InvalidArgument: the label check comes first.
    with pytest.raises(floe.InvalidArgument, match=message):
        TrainingDataset.fetch(
            client,
            "no_such_service",
            small,
            labels=labels,
            sample_weight=weight,
            timeout=60,
        )


def test_null_labels_are_refused(client):
    rows = pa.table(
        {
            "user_id": pa.array([1, 2], pa.int64()),
            "event_time": pa.array([now_utc()] * 2, pa.timestamp("us", tz="UTC")),
            "label": pa.array([1.0, None]),
        }
    )
    with pytest.raises(floe.InvalidArgument, match="'label' has 1 null"):
        TrainingDataset.fetch(
            client, PricingAgentV2.NAME, rows, labels="label", timeout=60
        )


@pytest.mark.parametrize(
    "rows, message",
    [
        ({"user_id": [1, 2], "label": [0.0, 1.0]}, "event_time"),
        (
            pa.table(
                {
                    "user_id": pa.array([1, 2], pa.int64()),
                    "event_time": pa.array([None, None], pa.timestamp("us", tz="UTC")),
                    "label": [0.0, 1.0],
                }
            ),
            "null event_time",
        ),
    ],
    ids=["no-event-time", "null-event-time"],
)
def test_bad_entity_rows_are_the_servers_invalid_argument(
    client, rows, message, tmp_path
):
    with pytest.raises(floe.InvalidArgument, match=message):
        TrainingDataset.fetch(
            client,
            PricingAgentV2.NAME,
            rows,
            labels="label",
            spool_dir=str(tmp_path),
            timeout=60,
        )
    assert list(tmp_path.iterdir()) == []  # no spool file left behind


def test_an_all_null_vector_column_has_the_declared_dimension(client, tmp_path):
    # Only users with no data: every embedding is null, yet the server declares
    # its dimension (4 in the pricing spec), so arrays and batches have a shape.
    refs = ["user_behavior:embedding", "user_profile:age"]
    rows = {"user_id": [987_654_321, 987_654_322], "event_time": [now_utc()] * 2}
    data = client.get_training_data(refs, rows, timeout=60)
    assert floe.columns.declared_dims(data.table.schema) == {
        "user_behavior__embedding": 4
    }
    emb = data.feature_arrays()["user_behavior__embedding"]
    assert emb.shape == (2, 4) and np.isnan(emb).all()
    assert data.column("user_behavior__embedding").shape == (2, 4)
    with client.stream_training_data(refs, rows, timeout=60) as stream:
        spool = stream.spool(str(tmp_path))
    with spool:
        assert spool.vector_dims == {"user_behavior__embedding": 4}
        (x,) = TrainingDataset(spool, inputs="dict", batch_size=2)[0]
        assert x["user_behavior__embedding"].shape == (2, 4)

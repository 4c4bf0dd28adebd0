"""The client's conveniences against a real server: pandas and dict results,
the asyncio client, per-call metadata and credentials, TLS, request ids on
errors, retries, and the tqdm progress bar."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import numpy as np
import pytest

import floe
from floe.features.pricing import PricingAgentV1
from floe.v1 import serving_pb2_grpc

pytestmark = pytest.mark.integration

KNOWN, UNKNOWN = 42, 987_654_321  # user ids with and without example data


@pytest.fixture(scope="module")
def client(floe_server) -> Iterator[floe.Client]:  # type: ignore[no-untyped-def]
    with floe.Client(floe_server.url) as c:
        yield c


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ---- to_pandas / to_dict ---------------------------------------------------------


def test_online_to_dict_and_to_pandas(client: floe.Client) -> None:
    pd = pytest.importorskip("pandas")
    feats = client.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN, UNKNOWN]})
    d = feats.to_dict()
    assert list(d) == list(PricingAgentV1.FEATURES)
    for name in PricingAgentV1.FEATURES:
        known, unknown = d[name]
        assert unknown is None  # NOT_FOUND
        assert known == feats.columns[name].tolist()[0]
    df = feats.to_pandas()
    assert list(df.columns) == list(PricingAgentV1.FEATURES) and len(df) == 2
    assert df.iloc[1].isna().all() and not df.iloc[0].isna().any()
    age = "user_profile:age"
    assert str(df[age].dtype) == "Int64" and df[age][0] == d[age][0]
    assert isinstance(df, pd.DataFrame)


def test_to_pandas_names_the_extra_without_pandas(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    feats = client.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN]})
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'floe-features\[pandas\]'"):
        feats.to_pandas()


def test_training_data_to_dict_and_to_pandas(client: floe.Client) -> None:
    pytest.importorskip("pandas")
    rows = {"user_id": [KNOWN, UNKNOWN], "event_time": [_now(), _now()], "y": [1.0, 0.0]}
    data = client.get_training_data(PricingAgentV1.NAME, rows, timeout=60)
    d = data.to_dict()
    assert d["user_id"] == [KNOWN, UNKNOWN] and d["y"] == [1.0, 0.0]
    assert d["user_profile__age"][1] is None
    df = data.to_pandas()
    assert list(df.columns) == data.table.column_names
    assert df["user_profile__age"].isna().tolist() == [False, True]


# ---- request ids, metadata, credentials --------------------------------------------


def test_errors_carry_the_request_id(client: floe.Client) -> None:
    with pytest.raises(floe.InvalidArgument) as caught:
        client.get_online_features("no_such_service", {"user_id": [1]})
    rid = caught.value.request_id
    assert rid and f"(request id {rid})" in str(caught.value)


def test_per_call_and_client_metadata_reach_the_server(floe_server, client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(floe.InvalidArgument) as caught:
        client.get_online_features(
            "no_such_service", {"user_id": [1]}, metadata=[("x-request-id", "call-7")]
        )
    assert caught.value.request_id == "call-7"
    with floe.Client(floe_server.url, metadata=[("x-request-id", "client-1")]) as c:
        with pytest.raises(floe.InvalidArgument) as caught:
            c.registry()  # succeeds: no error to look at
            c.get_online_features("no_such_service", {"user_id": [1]})
    assert caught.value.request_id == "client-1"


def test_call_credentials_need_tls() -> None:
    creds = grpc.access_token_call_credentials("t")
    with pytest.raises(ValueError, match="TLS"):
        floe.Client("http://127.0.0.1:1", call_credentials=creds)


class _TLSProxy:
    """Terminates TLS (ALPN h2) on a local port and forwards the bytes to the
    cleartext server, as a load balancer in front of Floe would."""

    def __init__(self, backend: str, cert: Path, key: Path) -> None:
        self._backend = backend.rsplit(":", 1)
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(cert, key)
        self._ctx.set_alpn_protocols(["h2"])
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            front = self._ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        back = socket.create_connection((self._backend[0], int(self._backend[1])))
        self._conns += [front, back]
        threading.Thread(target=self._pump, args=(back, front), daemon=True).start()
        self._pump(front, back)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()
        for c in self._conns:
            c.close()


@pytest.fixture(scope="module")
def tls_proxy(floe_server, tmp_path_factory) -> Iterator[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    if shutil.which("openssl") is None:
        pytest.fail("the TLS test needs the openssl command (apt-get install openssl)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    proxy = _TLSProxy(floe_server.address, cert, key)
    yield proxy.port, cert.read_bytes()
    proxy.close()


def test_tls_with_a_private_ca_and_call_credentials(tls_proxy) -> None:  # type: ignore[no-untyped-def]
    port, ca = tls_proxy
    stamp = grpc.metadata_call_credentials(
        lambda _ctx, done: done((("x-request-id", "from-call-credentials"),), None)
    )
    with floe.Client(
        f"https://localhost:{port}",
        credentials=grpc.ssl_channel_credentials(root_certificates=ca),
        call_credentials=grpc.access_token_call_credentials("secret"),
    ) as c:
        feats = c.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN]}, timeout=30)
        assert (feats.statuses == 1).all()
        with pytest.raises(floe.InvalidArgument) as caught:
            c.get_online_features("no_such_service", {"user_id": [1]}, credentials=stamp)
    assert caught.value.request_id == "from-call-credentials"
    # The server's certificate is checked: the default roots do not trust it.
    with floe.Client(f"https://localhost:{port}", retry=None) as c:
        with pytest.raises(floe.Unavailable):
            c.registry(timeout=10)


# ---- retries -------------------------------------------------------------------------


class _Flaky(serving_pb2_grpc.ServingServiceServicer):
    """Fails the first `failures` calls with a status, then asks the real server."""

    def __init__(self, real: floe.Client, failures: int, code: grpc.StatusCode) -> None:
        self.real, self.failures, self.code, self.attempts = real, failures, code, 0

    def GetOnlineFeatures(self, request, context):  # type: ignore[no-untyped-def]
        self.attempts += 1
        if self.attempts <= self.failures:
            context.abort(self.code, f"attempt {self.attempts} fails")
        return self.real._serving.GetOnlineFeatures(request, timeout=30)


@pytest.fixture
def flaky(client: floe.Client) -> Iterator[callable]:  # type: ignore[valid-type]
    servers: list[grpc.Server] = []

    def start(failures: int, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE):  # type: ignore[no-untyped-def]
        servicer = _Flaky(client, failures, code)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        serving_pb2_grpc.add_ServingServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return servicer, f"127.0.0.1:{port}"

    yield start
    for s in servers:
        s.stop(None)


FAST = floe.RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05)


def test_unavailable_reads_are_retried(flaky) -> None:  # type: ignore[no-untyped-def]
    servicer, address = flaky(failures=2)
    with floe.Client(address, retry=FAST) as c:
        feats = c.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN]}, timeout=30)
    assert servicer.attempts == 3 and (feats.statuses == 1).all()


def test_retries_stop_at_max_attempts(flaky) -> None:  # type: ignore[no-untyped-def]
    servicer, address = flaky(failures=5)
    with floe.Client(address, retry=FAST) as c:
        with pytest.raises(floe.Unavailable, match="attempt 3 fails"):
            c.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN]}, timeout=30)
    assert servicer.attempts == 3


@pytest.mark.parametrize(
    "retry, code",
    [(None, grpc.StatusCode.UNAVAILABLE), (FAST, grpc.StatusCode.INVALID_ARGUMENT)],
    ids=["no-policy", "not-retryable"],
)
def test_no_retry_without_policy_or_for_other_codes(flaky, retry, code) -> None:  # type: ignore[no-untyped-def]
    servicer, address = flaky(failures=1, code=code)
    with floe.Client(address, retry=retry) as c:
        with pytest.raises(floe.FloeError):
            c.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN]}, timeout=30)
    assert servicer.attempts == 1


def test_retry_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="retry=None"):
        floe.RetryPolicy(max_attempts=1)


# ---- asyncio -------------------------------------------------------------------------


def test_async_client_reads_as_the_sync_one(floe_server, client) -> None:  # type: ignore[no-untyped-def]
    rows = {"user_id": [KNOWN, 7], "event_time": [_now(), _now()]}
    sync_feats = client.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN, 7]})
    events: list[floe.RetrievalProgress] = []

    async def main():  # type: ignore[no-untyped-def]
        async with floe.AsyncClient(floe_server.url) as c:
            feats, reg, data = await asyncio.gather(
                c.get_online_features(PricingAgentV1.NAME, {"user_id": [KNOWN, 7]}),
                c.registry(timeout=30),
                c.get_training_data(PricingAgentV1.NAME, rows, timeout=60, progress=events.append),
            )
            _, _, changed = await c.diff_features(
                PricingAgentV1.NAME, {"user_id": KNOWN}, _now() - dt.timedelta(seconds=1)
            )
            with pytest.raises(floe.InvalidArgument) as caught:
                await c.get_online_features(
                    "no_such_service", {"user_id": [1]}, metadata=[("x-request-id", "aio-1")]
                )
            return feats, reg, data, changed, caught.value

    feats, reg, data, changed, err = asyncio.run(main())
    np.testing.assert_array_equal(feats.to_numpy(), sync_feats.to_numpy())
    assert reg.version == client.registry().version
    want = client.get_training_data(PricingAgentV1.NAME, data.table.select(["user_id", "event_time"]))
    assert data.table.equals(want.table) and data.manifest.entity_rows == 2
    assert events and events[-1].phase == "writing"
    assert changed == ()
    assert err.request_id == "aio-1"


# ---- progress ------------------------------------------------------------------------


def test_progress_true_draws_a_tqdm_bar(client, capsys) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tqdm")
    n = 5000
    rows = {"user_id": list(range(n)), "event_time": [_now()] * n}
    client.get_training_data(PricingAgentV1.NAME, rows, timeout=60, progress=True)
    err = capsys.readouterr().err
    assert "floe: sending rows" in err and "100%" in err, err

"""The client over HTTPS with mutual TLS (a pro licence minted by the
tests): the CA and client pair options, over HTTP/1.1 and h2 (ALPN), for
requests and take streams, sync and asyncio; and a pro feature (unique
jobs) the licence allows."""

import asyncio
import subprocess

import pytest

import zizq_client as zizq
from zizq_client.testing.server import ZizqServer, server_command

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, licence_args):
    pki = tmp_path_factory.mktemp("pki")
    made = subprocess.run(
        [*server_command(), "tls", "init", "--out-dir", str(pki), "--san",
         "127.0.0.1", "--client", "worker"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    args = [
        *licence_args,
        "--tls-cert", str(pki / "server-cert.pem"), "--tls-key", str(pki / "server-key.pem"),
        "--tls-client-ca", str(pki / "ca-cert.pem"),
    ]  # fmt: skip
    with ZizqServer(args=args) as server:
        yield server, pki


@pytest.mark.parametrize("http2", [False, True], ids=["h1", "h2"])
def test_mutual_tls_requests_and_take_streams(tls_server, http2):
    server, pki = tls_server
    assert server.url.startswith("https://")
    options = {
        "ca_cert": str(pki / "ca-cert.pem"),
        "client_cert": str(pki / "client-worker-cert.pem"),
        "client_key": str(pki / "client-worker-key.pem"),
    }
    with zizq.Client(url=server.url, http2=http2, **options) as client:
        client.reset()
        first = client.enqueue_raw(queue="t", type="u", payload=1, unique_key="k")
        again = client.enqueue_raw(queue="t", type="u", payload=2, unique_key="k")
        assert again.duplicate and again.id == first.id
        with client.take("t") as batches:
            [taken] = next(b for b in batches if b)
            client.ack(taken.id)
        assert client.count() == 0
    with (
        zizq.Client(
            url=server.url, http2=http2, ca_cert=options["ca_cert"], timeout=5
        ) as anonymous,
        pytest.raises(zizq.ConnectionFailed),
    ):
        anonymous.health()


@pytest.mark.parametrize("http2", [False, True], ids=["h1", "h2"])
def test_the_async_client_over_mutual_tls(tls_server, http2):
    server, pki = tls_server
    options = {
        "ca_cert": str(pki / "ca-cert.pem"),
        "client_cert": str(pki / "client-worker-cert.pem"),
        "client_key": str(pki / "client-worker-key.pem"),
    }

    async def scenario():
        async with zizq.AsyncClient(url=server.url, http2=http2, **options) as client:
            await client.reset()
            job = await client.enqueue_raw(queue="t", type="u", payload=[1])
            assert (await client.get(job.id)).payload == [1]
            async with client.take("t") as batches:
                async for batch in batches:
                    if batch:
                        await client.ack(batch[0].id)
                        break
            return await client.count()

    assert asyncio.run(scenario()) == 0

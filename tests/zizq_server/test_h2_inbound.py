"""``h2_inbound``: received header blocks checked as hyper-h2 checks them.

A ``Connection`` must deliver exactly what a stock hyper-h2 connection
(checks on, as Twisted configures it) delivers for any block, valid or not
(the same header list, or the same ``ProtocolError``), and must take the
everyday request in one pass.
"""

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import pytest
from hyperframe.frame import HeadersFrame
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zizq_server.serve.h2_inbound import Connection, everyday

EVERYDAY = [
    (b":method", b"POST"),
    (b":path", b"/jobs"),
    (b":scheme", b"http"),
    (b":authority", b"127.0.0.1:7890"),
    (b"content-type", b"application/json"),
    (b"content-length", b"149"),
    (b"user-agent", b"h2load nghttp2/1.52.0"),
]

NAMES = [
    b":method", b":path", b":scheme", b":authority", b":status", b":protocol",
    b":other", b"host", b"te", b"connection", b"keep-alive", b"transfer-encoding",
    b"upgrade", b"proxy-connection", b"cookie", b"content-type", b"x-a_b",
    b"Content-Type", b"", b"a b", b"x:y", b"x\x00", b"\xc3\xa9", b"a\"b",
]
VALUES = [
    b"GET", b"POST", b"CONNECT", b"http", b"/", b"/jobs", b"", b"h", b"trailers",
    b"Trailers", b"gzip", b" a", b"a ", b"\ta", b"a\t", b"a b", b"a\tb", b"a\rb",
    b"a\nb", b"\x00", b"a\x7fb", "é".encode(), b"\n",
]
HEADER = st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES))
# Blocks near the everyday one (a few headers changed, added or moved) and
# blocks of anything.
NEAR = st.builds(
    lambda edits, extra, at: _edited(edits, extra, at),
    st.lists(st.tuples(st.integers(0, 6), HEADER), max_size=2),
    st.lists(HEADER, max_size=2),
    st.integers(0, 7),
)
BLOCKS = NEAR | st.lists(HEADER, min_size=1, max_size=8)  # (empty: below)


def _edited(edits, extra, at) -> list:
    block = list(EVERYDAY)
    for i, header in edits:
        block[i] = header
    return block[:at] + extra + block[at:]


def _raw_client():
    """A client connection that sends any header block as it stands."""
    return h2.connection.H2Connection(
        h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
    )


def _stock():
    return h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding=None)
    )


def _opened(server):
    """A raw client whose preface and settings ``server`` has read."""
    client = _raw_client()
    client.initiate_connection()
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    return client


def _delivered(server, block: list, trailers: bool):
    """The headers ``server`` delivers for ``block`` (sent as a request, or
    as the trailers of an everyday one), or what it raises."""
    client = _opened(server)
    if trailers:
        client.send_headers(1, EVERYDAY)
    client.send_headers(1, block, end_stream=True)
    try:
        events = server.receive_data(client.data_to_send())
    except h2.exceptions.ProtocolError as exc:
        return repr(exc)
    kind = h2.events.TrailersReceived if trailers else h2.events.RequestReceived
    (event,) = [e for e in events if isinstance(e, kind)]
    return event.headers


@settings(max_examples=2000, deadline=None)
@given(block=BLOCKS, trailers=st.booleans())
@example(block=EVERYDAY, trailers=False)
@example(block=[*EVERYDAY, (b"", b"x")], trailers=False)
@example(block=[*EVERYDAY, (b"cookie", b"a=1"), (b"cookie", b"b=2")], trailers=False)
@example(block=[*EVERYDAY[:4], (b"host", b"other")], trailers=False)
def test_a_connection_delivers_what_stock_hyper_h2_delivers(block, trailers):
    ours = _delivered(Connection(), block, trailers)
    assert ours == _delivered(_stock(), block, trailers)


def test_an_empty_header_block_is_refused_as_stock_hyper_h2_refuses_it():
    # hyper-h2's client cannot send one: the frame is built by hand.
    frame = HeadersFrame(1, flags=["END_HEADERS", "END_STREAM"])
    outcomes = []
    for server in (Connection(), _stock()):
        _opened(server)
        with pytest.raises(h2.exceptions.ProtocolError) as refused:
            server.receive_data(frame.serialize())
        outcomes.append(repr(refused.value))
    assert outcomes[0] == outcomes[1]


def test_the_everyday_request_is_taken_in_one_pass():
    assert everyday(EVERYDAY)
    assert everyday(EVERYDAY[:4])  # no regular headers
    assert everyday([*EVERYDAY, (b"x", b"")])


@pytest.mark.parametrize(
    "block",
    [
        EVERYDAY[:3],  # no :authority: hyper-h2 decides on Host
        [*EVERYDAY, (b"host", b"127.0.0.1:7890")],
        [(b":method", b"CONNECT"), *EVERYDAY[1:]],
        [(b":method", b"GET"), (b":path", b""), *EVERYDAY[2:]],
        [*EVERYDAY, (b"cookie", b"a=1"), (b"cookie", b"b=2")],  # joined
        [*EVERYDAY, (b"cookie", b"a=1"), (b"x", b"")],  # moved to the end
        [*EVERYDAY, (b"te", b"trailers")],
        [*EVERYDAY, (b"Content-Type", b"x")],
        [*EVERYDAY, (b"x-a", b" padded")],
        [*EVERYDAY, (b"x-a", b"line\nbreak")],
        [*EVERYDAY, (b"", b"x")],
        [*EVERYDAY[1:], EVERYDAY[0]],  # a pseudo-header after a regular one
        [EVERYDAY[0], *EVERYDAY],  # a repeated pseudo-header
    ],
)
def test_any_other_block_is_left_to_hyper_h2(block):
    assert not everyday(block)


def _pair():
    """A raw client connection and a ``Connection`` past the preface."""
    server = Connection()
    client = _opened(server)
    client.receive_data(server.data_to_send())
    return client, server


def test_a_connection_delivers_the_checked_request_and_trailers():
    client, server = _pair()
    cookies = [(b"cookie", b"a=1"), (b"cookie", b"b=2")]
    client.send_headers(1, [*EVERYDAY[:4], *cookies])
    client.send_data(1, b"body")
    client.send_headers(1, [(b"x-sum", b"1")], end_stream=True)
    events = server.receive_data(client.data_to_send())
    (request,) = [e for e in events if isinstance(e, h2.events.RequestReceived)]
    (trailers,) = [e for e in events if isinstance(e, h2.events.TrailersReceived)]
    assert request.headers[-1] == (b"cookie", b"a=1; b=2")
    assert trailers.headers == [(b"x-sum", b"1")]


@pytest.mark.parametrize(
    "block",
    [
        [*EVERYDAY, (b"connection", b"keep-alive")],
        [*EVERYDAY, (b"x-a", b"a ")],
        [*EVERYDAY[1:]],  # no :method
    ],
)
def test_a_refused_block_raises_after_queueing_a_goaway(block):
    client, server = _pair()
    client.send_headers(1, EVERYDAY, end_stream=True)
    client.send_headers(3, block, end_stream=True)
    with pytest.raises(h2.exceptions.ProtocolError):
        server.receive_data(client.data_to_send())
    events = client.receive_data(server.data_to_send())
    (goaway,) = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    assert goaway.error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR


def test_refused_trailers_raise_too():
    client, server = _pair()
    client.send_headers(1, EVERYDAY)
    client.send_headers(1, [(b":path", b"/")], end_stream=True)
    with pytest.raises(h2.exceptions.ProtocolError, match="pseudo-header in trailer"):
        server.receive_data(client.data_to_send())

"""``h2_inbound``: received header blocks checked as hyper-h2 checks them.

``checked`` must give exactly what hyper-h2's own normalisation and
validation give for any block, valid or not (the same list, or the same
``ProtocolError``), and must take the everyday request itself.
"""

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import pytest
from h2.utilities import normalize_inbound_headers, validate_headers
from hpack import HeaderTuple
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zizq_server.serve import h2_inbound
from zizq_server.serve.h2_inbound import Connection, checked, everyday

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
BLOCKS = NEAR | st.lists(HEADER, max_size=8)


def _edited(edits, extra, at) -> list:
    block = list(EVERYDAY)
    for i, header in edits:
        block[i] = header
    return block[:at] + extra + block[at:]


def _reference(headers: list, trailers: bool):
    """What hyper-h2 itself gives: the list, or the error's text."""
    flags = h2_inbound._TRAILERS if trailers else h2_inbound._REQUEST
    try:
        return list(validate_headers(normalize_inbound_headers(headers, flags), flags))
    except h2.exceptions.ProtocolError as exc:
        return repr(exc)


def _outcome(headers: list, trailers: bool):
    try:
        return checked(headers, trailers)
    except h2.exceptions.ProtocolError as exc:
        return repr(exc)


@settings(max_examples=2000, deadline=None)
@given(block=BLOCKS, trailers=st.booleans())
@example(block=EVERYDAY, trailers=False)
@example(block=[*EVERYDAY, (b"", b"x")], trailers=False)
@example(block=[*EVERYDAY, (b"cookie", b"a=1"), (b"cookie", b"b=2")], trailers=False)
@example(block=[*EVERYDAY[:4], (b"host", b"other")], trailers=False)
def test_checked_gives_what_hyper_h2_gives(block, trailers):
    headers = [HeaderTuple(name, value) for name, value in block]
    assert _outcome(headers, trailers) == _reference(headers, trailers)


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
    """A client connection and a ``Connection`` past the preface."""
    client = h2.connection.H2Connection(
        h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,  # sends any block as it stands
        )
    )
    server = Connection()
    client.initiate_connection()
    server.initiate_connection()
    server.receive_data(client.data_to_send())
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

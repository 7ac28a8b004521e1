"""hyper-h2's checks of received header blocks, in one pass for the
everyday request.

hyper-h2 takes every header block it receives through a chain of
generators: one joins split cookies, seven validate (illegal bytes, empty
names, TE, connection headers, pseudo-headers and their set, Host against
``:authority``, ``:path``), the first of them walking every name and value
a byte at a time. That is ~15-20 us of the ~105 us hyper-h2 spends
receiving a request of eight headers (h2 4.4.1, in isolation); a single
enqueue over h2c went from 1,113k to 1,043k instructions without it
(bench/instructions.py).

``Connection`` is hyper-h2's connection with those two steps switched off
in its configuration and taken here, once ``receive_data`` has read all it
was given and before any of its events is handed on:

- A request block of the everyday shape passes unchanged, as the chain
  would pass it: exactly ``:method``, ``:scheme``, ``:path`` and
  ``:authority`` first, a method other than ``CONNECT`` and a non-empty
  path; then lowercase token names, none of them ``host``, ``te``,
  ``cookie`` or a connection header; values without NUL, CR or LF
  and not starting or ending with a space or tab.
- Any other request block, and every trailer block, goes through
  hyper-h2's own ``normalize_inbound_headers`` and ``validate_headers``,
  with the flags hyper-h2 would pass.

A block the chain refuses raises hyper-h2's ``ProtocolError`` from
``receive_data`` after queueing a GOAWAY with its error code, as hyper-h2
does, and none of that data's events is handed on. One difference is left:
hyper-h2 stops reading at the refused block, so frames after it in the same
read are no longer processed, where here they have been (their events are
dropped all the same, and the connection is closed).
"""

import re

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.utilities import (
    CONNECTION_HEADERS,
    HeaderValidationFlags,
    normalize_inbound_headers,
    validate_headers,
)

__all__ = ["Connection", "checked"]

_REQUEST = HeaderValidationFlags(
    is_client=False, is_trailer=False, is_response_header=False, is_push_promise=False
)
_TRAILERS = _REQUEST._replace(is_trailer=True)

_PSEUDO = frozenset((b":method", b":scheme", b":path", b":authority"))
# Lowercase tokens (RFC 9110 section 5.6.2), joined by spaces (and none of
# them holding one: the spaces are counted).
_LOWER_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-z]+"
_NAMES = re.compile(rb"%s(?: %s)*" % (_LOWER_TOKEN, _LOWER_TOKEN))
# In values joined by LF: NUL, CR, or a space or tab at a value's edge.
_UNCLEAN = re.compile(rb"[\x00\r]|(?:^|\n)[ \t]|[ \t](?:\n|\Z)")
# Regular names the chain looks at twice (a cookie it moves to the end).
_SPECIAL = CONNECTION_HEADERS | {b"te", b"host", b"cookie"}


def everyday(headers: list) -> bool:
    """Whether the chain would pass this request block unchanged."""
    pseudo = {}
    for name, value in headers[:4]:
        pseudo[name] = value
    if pseudo.keys() != _PSEUDO:
        return False
    if pseudo[b":method"] == b"CONNECT" or not pseudo[b":path"]:
        return False
    names = [name for name, _ in headers[4:]]
    joined = b" ".join(names)
    if names and not (
        _NAMES.fullmatch(joined) and joined.count(b" ") == len(names) - 1
    ):
        return False
    if not _SPECIAL.isdisjoint(names):
        return False
    values = b"\n".join([value for _, value in headers])
    return values.count(b"\n") == len(headers) - 1 and not _UNCLEAN.search(values)


def checked(headers: list, trailers: bool = False) -> list:
    """``headers`` as hyper-h2 would deliver them; ``ProtocolError`` if it
    would refuse them."""
    if not trailers and everyday(headers):
        return headers
    flags = _TRAILERS if trailers else _REQUEST
    return list(validate_headers(normalize_inbound_headers(headers, flags), flags))


class Connection(h2.connection.H2Connection):
    """hyper-h2's server connection, taking received header blocks through
    ``checked``."""

    def __init__(self):
        super().__init__(
            h2.config.H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            )
        )

    def receive_data(self, data) -> list:
        events = super().receive_data(data)
        try:
            for event in events:
                kind = type(event)
                if kind is h2.events.RequestReceived:
                    event.headers = checked(event.headers)
                elif kind is h2.events.TrailersReceived:
                    event.headers = checked(event.headers, trailers=True)
        except h2.exceptions.ProtocolError as exc:
            self.close_connection(exc.error_code)
            raise
        return events

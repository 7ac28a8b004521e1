"""Connection settings shared by the sync and asyncio clients and turned
into httpx arguments in one place.

HTTP/1.1 keep-alive is the default on plain ``http://`` because it costs
the least client CPU; ``http2=True`` speaks h2c by prior knowledge there
(as the official clients do) and negotiates h2 through ALPN over TLS. TLS
options become one ``ssl.SSLContext``: a CA bundle to trust (else the
system's), and a client certificate and key for mutual TLS.
"""

import os
import ssl
from dataclasses import dataclass, field, replace

import httpx

from .codec import CONTENT_TYPES, check_format

DEFAULT_URL = "http://127.0.0.1:7890"


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one server; ``ZIZQ_URL`` supplies the default URL."""

    url: str = field(default_factory=lambda: os.environ.get("ZIZQ_URL", DEFAULT_URL))
    format: str = "msgpack"
    http2: bool = False
    timeout: float = 10.0
    connect_timeout: float = 5.0
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True
    max_connections: int = 100
    headers: tuple = ()

    def __post_init__(self) -> None:
        check_format(self.format)
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")

    def using(self, **changes) -> "ClientConfig":
        return replace(self, **changes)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.url.startswith("https:"):
            return True
        if not self.verify and self.client_cert is None:
            return False
        context = ssl.create_default_context(cafile=self.ca_cert)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.client_cert:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context

    def httpx_kwargs(self, read_timeout: float | None = None) -> dict:
        prior_knowledge = self.http2 and not self.url.startswith("https:")
        headers = {"accept": self.content_type, **dict(self.headers)}
        return {
            "base_url": self.url,
            "http1": not prior_knowledge,
            "http2": self.http2,
            "verify": self.ssl_context(),
            "headers": headers,
            "timeout": httpx.Timeout(
                self.timeout if read_timeout is None else read_timeout,
                connect=self.connect_timeout,
            ),
            "limits": httpx.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections,
            ),
        }

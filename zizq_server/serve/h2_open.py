"""The open HTTP/2 connections, so that a graceful stop can say goodbye.

RFC 9113 section 6.8: a server that shuts down sends GOAWAY naming the last
stream it processed, so that the client knows which requests it may retry
elsewhere. Both connection classes (``h2_native.NativeH2Channel`` and its
twin ``h2.H2Channel``) add themselves here when their connection starts and
leave when it is lost; ``goaway_all`` is called by the lifecycle's stop
after the take streams have ended. A plain set: a channel always leaves it
in ``connectionLost``, and there are at most as many as open sockets.
"""

OPEN = set()


def goaway_all() -> None:
    """GOAWAY(NO_ERROR, last stream id) on every open HTTP/2 connection."""
    for channel in list(OPEN):
        channel.goaway()

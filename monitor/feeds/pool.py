"""httpcore's connection pool with a cheaper, less wasteful bookkeeping pass.

httpcore 1.0.9 runs ``_assign_requests_to_connections`` whenever a request starts or ends.
Four things in it make it most of what fetching costs the event loop with a large pool:

- It is quadratic: for every idle connection it counts the whole pool again, and for every
  queued request it scans every connection. Here,
  as in the known fix upstream (encode/httpcore#1035, not released): one pass to drop
  closed and expired connections, one snapshot of the available ones.
- It polls the socket of every idle connection, to see whether the server hung up, on every
  pass: a hundred system calls per request with a full pool. Here only the connection about
  to be reused is polled; one the server closed and nobody reuses goes when its keep-alive
  time runs out, or as surplus.
- It gives an idle connection to every queued request for its origin, and gives it again in
  the next pass if the first request has not started on it yet. All but one fail with
  ``ConnectionNotAvailable`` and queue again: about ten retries, and ten passes, per request
  with 200 requests queued for 20 connections. Here a connection holds one request: the pool
  serves HTTP/1.1 only (``make_client`` leaves HTTP/2 off).
- It closes idle connections past the keep-alive limit before giving queued requests a
  connection, then opens new ones for them. Here the limit applies to the idle connections
  left over once every queued request that could be served has one; it bounds idle
  connections (upstream compares it with all connections, the first bug of that pull
  request).

httpcore is pinned (constraints.txt); tests/test_pool.py drives real requests through it:
several hosts, keep-alive, a full pool, a server hanging up.
"""

from __future__ import annotations

import time

import httpcore
from httpcore._async.connection_pool import AsyncPoolRequest
from httpcore._async.interfaces import AsyncConnectionInterface


class LinearPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing = self._prune()
        queued, taken = [], set()
        for request in self._requests:
            if request.is_queued():
                queued.append(request)
            else:
                taken.add(request.connection)  # given, maybe not started: still looks idle
        available = [c for c in self._connections if c.is_available() and c not in taken]
        full = False  # no room for a new connection: later requests can only wait
        for request in queued:
            origin = request.request.url.origin
            connection = self._reusable(origin, closing, available)
            if connection is None and not full:
                connection = self._make_room(request, closing, available)
                full = connection is None
            if connection is not None:
                request.assign_to_connection(connection)
                if connection in available:
                    available.remove(connection)
        return closing + self._surplus(available)

    def _prune(self) -> list[AsyncConnectionInterface]:
        """Drop closed connections; close failed ones and those past their keep-alive time."""
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            (closing if _timed_out(connection) else kept).append(connection)
        self._connections = kept
        return closing

    def _surplus(self, unused: list[AsyncConnectionInterface]) -> list[AsyncConnectionInterface]:
        """Close idle connections no request was given beyond the keep-alive limit, oldest
        first."""
        idle = [c for c in unused if c.is_idle()]
        surplus = idle[: max(0, len(idle) - self._max_keepalive_connections)]
        if surplus:
            dropped = set(surplus)
            self._connections = [c for c in self._connections if c not in dropped]
        return surplus

    def _reusable(
        self,
        origin: httpcore.Origin,
        closing: list[AsyncConnectionInterface],
        available: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        """An available connection to ``origin``; idle ones the server hung up are closed on
        the way (the only place their sockets are polled)."""
        for connection in [c for c in available if c.can_handle_request(origin)]:
            if not (connection.is_idle() and connection.has_expired()):
                return connection
            available.remove(connection)
            self._connections.remove(connection)
            closing.append(connection)
        return None

    def _make_room(
        self,
        request: AsyncPoolRequest,
        closing: list[AsyncConnectionInterface],
        available: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        """A new connection for the request, closing an idle one if the pool is full; None
        when every connection is busy (the request stays queued)."""
        if len(self._connections) >= self._max_connections:
            idle = next((c for c in available if c.is_idle()), None)
            if idle is None:
                return None
            self._connections.remove(idle)
            closing.append(idle)
            available.remove(idle)
        connection = self.create_connection(request.request.url.origin)
        self._connections.append(connection)
        return connection


def _timed_out(connection: AsyncConnectionInterface) -> bool:
    """Whether the connection failed or outlived its keep-alive time, from the clock alone.

    httpcore's ``has_expired`` also polls the socket of an idle connection; that is left to
    ``_reusable``. The HTTP/1.1 and HTTP/2 connections keep their expiry in ``_expire_at``
    (httpcore is pinned); anything else is asked the full question."""
    inner = getattr(connection, "_connection", None)
    if inner is None or not hasattr(inner, "_expire_at"):
        return connection.has_expired()  # still connecting (no socket yet) or not ours
    expire_at: float | None = inner._expire_at
    return expire_at is not None and time.monotonic() > expire_at

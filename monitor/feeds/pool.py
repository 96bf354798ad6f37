"""httpcore's connection pool with its bookkeeping pass made linear.

httpcore 1.0.9 runs ``_assign_requests_to_connections`` whenever a request starts or ends.
For every idle connection it counts the whole pool again, and for every queued request it
scans every connection: quadratic in the pool's size. In a cold cycle of 1,000 feeds that
pass was a fifth to a third of the service's CPU, more than storing the articles. The fix
is known upstream (encode/httpcore#1035, not released) and the same as here: one pass to
drop closed and expired connections, one count of idle ones, one snapshot of available
ones. Behaviour is upstream's otherwise, except that ``max_keepalive_connections`` now
bounds idle connections (upstream compares it with all connections, which is that
pull request's first bug).

httpcore is pinned (constraints.txt); tests/test_pool.py drives real requests through it:
several hosts, keep-alive, a full pool.
"""

from __future__ import annotations

import httpcore
from httpcore._async.connection_pool import AsyncPoolRequest
from httpcore._async.interfaces import AsyncConnectionInterface


class LinearPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing = self._prune()
        queued = [request for request in self._requests if request.is_queued()]
        if not queued:
            return closing
        available = [c for c in self._connections if c.is_available()]
        full = False  # no room for a new connection: later requests can only share one
        for request in queued:
            origin = request.request.url.origin
            connection = next((c for c in available if c.can_handle_request(origin)), None)
            if connection is None and not full:
                connection = self._make_room(request, closing, available)
                full = connection is None
            if connection is not None:
                request.assign_to_connection(connection)
        return closing

    def _prune(self) -> list[AsyncConnectionInterface]:
        """Drop closed connections; close expired ones and idle ones past the keep-alive
        limit, oldest first."""
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.has_expired():
                closing.append(connection)
            else:
                kept.append(connection)
        idle = [c for c in kept if c.is_idle()]
        surplus = idle[: max(0, len(idle) - self._max_keepalive_connections)]
        closing += surplus
        self._connections = [c for c in kept if c not in surplus]
        return closing

    def _make_room(
        self,
        request: AsyncPoolRequest,
        closing: list[AsyncConnectionInterface],
        available: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        """A new connection for the request, closing an idle one if the pool is full; None
        when every connection is busy (the request stays queued)."""
        if len(self._connections) >= self._max_connections:
            idle = next((c for c in self._connections if c.is_idle()), None)
            if idle is None:
                return None
            self._connections.remove(idle)
            closing.append(idle)
            if idle in available:
                available.remove(idle)
        connection = self.create_connection(request.request.url.origin)
        self._connections.append(connection)
        return connection

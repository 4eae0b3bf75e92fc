"""HTTP to an address a user typed (a webhook's URL), refused at the socket when it connects to a blocked one.

Checking the name before the request is not enough: the name is looked up again when the request connects, and a
name that answers a public address to the first look and 169.254.169.254 to the second (DNS rebinding) would pass
the check and still reach the metadata service. Here the address checked is the one the socket is connected to, after
the connect and before a byte is sent, so the request that is made is the request that was checked.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from dispatch.webhooks import blocked_address


class BlockedPeer(NewConnectionError):
    """The socket connected to an address outgoing requests may never reach; it was closed before sending."""


def _guarded_pools(refuse: Callable[[str], bool]) -> dict[str, type[HTTPConnectionPool]]:
    def checked(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
        address = str(sock.getpeername()[0])
        if refuse(address):
            sock.close()
            raise BlockedPeer(connection, f"connected to {address}, a link-local or metadata address: refused")
        return sock

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return checked(self, super()._new_conn())

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return checked(self, super()._new_conn())

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, refuse: Callable[[str], bool]) -> None:
        self._pools = _guarded_pools(refuse)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def guarded_post(refuse: Callable[[str], bool] = blocked_address) -> Callable[..., requests.Response]:
    """`requests.post`, but a connection whose peer address `refuse` names is closed before anything is sent and the
    call raises `requests.ConnectionError` (see `refused`). Each call has its own session, closed on return: only the
    answer's status and headers are for reading (the caller passes `stream=True` and closes the answer)."""

    def post(url: str, **kwargs: Any) -> requests.Response:
        with requests.Session() as session:
            adapter = _GuardedAdapter(refuse)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            return session.post(url, **kwargs)

    return post


def refused(error: requests.RequestException) -> bool:
    """Whether a request failed because its connection reached a refused address (not for want of an answer)."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, BlockedPeer)

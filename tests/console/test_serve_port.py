"""`python -m console` refuses a port another server holds, also one bound with SO_REUSEPORT (as its workers bind)."""

from __future__ import annotations

import socket

import pytest

from console.serve import PortTaken, check_port_free


def _listener(*, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


@pytest.mark.parametrize("reuse_port", [True, False])
def test_a_port_a_server_listens_on_is_refused_with_its_number(reuse_port: bool) -> None:
    """Tests that the start-up check refuses a port where a server listens, whether or not that server's
    socket lets others share the port (SO_REUSEPORT, gunicorn's `reuse_port`), and names the port."""
    with _listener(reuse_port=reuse_port) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(PortTaken, match=rf"port {port} on 127\.0\.0\.1 is not free: another server"):
            check_port_free(f"127.0.0.1:{port}")


def test_a_free_port_and_one_just_given_up_pass() -> None:
    """Tests that a port nobody listens on passes, also right after the server that held it closed (its closed
    connections' TIME_WAIT do not hold the port), so a restart is not refused."""
    with _listener(reuse_port=True) as gone:
        port = gone.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = gone.accept()
        accepted.close()  # the server closes first: its side of the connection lingers in TIME_WAIT
        client.close()
    check_port_free(f"127.0.0.1:{port}")

"""The gateway's web server itself: how it treats the connections it accepts."""

import socket
from types import SimpleNamespace

from gateway.http import JsonWebServer


class OneConnection:
    """Stands for the container: keeps the first connection the server hands on, then stops
    the server's accept loop."""

    def __init__(self, server):
        self.server = server
        self.accepted = None

    def spawn_managed_thread(self, run):
        self.accepted = run.args[0]
        self.server._is_accepting = False


def test_every_accepted_connection_sends_without_nagle_delays():
    listening = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listening.getsockname())
    server = JsonWebServer()
    container = OneConnection(server)
    server.container = container
    server._sock = listening
    server._serv = SimpleNamespace(socket_timeout=5)

    try:
        server.run()
        accepted = container.accepted
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert accepted.gettimeout() == 5
    finally:
        for connection in (client, listening, container.accepted):
            if connection is not None:
                connection.close()

"""The browser tests' server closes a response whose client went away."""

import gc
import socket
import struct
import time

import pytest

from tests.conftest import serve

pytestmark = pytest.mark.alone  # see scripts/test


def test_a_dropped_static_download_leaves_no_open_file(app):
    server = serve(app)
    try:
        for _ in range(5):
            # A request announcing a body it never sends, then a reset (linger 0): the
            # server's read of the rest fails after the file was sent.
            with socket.create_connection(("127.0.0.1", server.server_port)) as conn:
                conn.sendall(
                    b"GET /static/favicon.svg HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 1000\r\n\r\nabc"
                )
                conn.recv(65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            time.sleep(0.05)
        time.sleep(0.2)
        gc.collect()  # an unclosed file warns here, an error under the suite's filters
    finally:
        server.shutdown()

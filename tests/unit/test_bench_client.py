"""bench_throughput's HTTP client: it reads what the server says, however the reply is framed.

The load generator talks HTTP/1.1 on a bare socket (cheaper than http.client on the cores it
measures), so its framing is ours to get right: a reply by Content-Length (two in one read),
a chunked one, one ended by the connection closing; and the request it sends is what a
server parses.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_throughput_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


class Canned:
    """A server on a free port answering each request with the next canned reply (sent in
    the pieces given, so a reply may straddle reads; the connection closed after it where
    `close` says so), keeping each request it read."""

    def __init__(self, replies: list[tuple[list[bytes], bool]]):
        self.replies = replies
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read_request(self, conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
        while b"\r\n\r\n" not in buffer:
            buffer += conn.recv(65536)
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += conn.recv(65536)
        return head + b"\r\n\r\n" + rest[:length], rest[length:]

    def _serve(self) -> None:
        pending = list(self.replies)
        while pending:
            conn, _ = self.listener.accept()
            with conn:
                buffer = b""
                while pending:
                    request, buffer = self._read_request(conn, buffer)
                    self.requests.append(request)
                    pieces, close = pending.pop(0)
                    for piece in pieces:
                        conn.sendall(piece)
                    if close:
                        break

    def received(self, count: int) -> list[bytes]:
        """The requests read, once `count` of them are (the server reads on its thread)."""
        deadline = time.monotonic() + 5
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests

    def close(self) -> None:
        self.listener.close()


def _json_reply(value: object, extra: bytes = b"") -> bytes:
    body = orjson.dumps(value)
    return (
        b"HTTP/1.1 201 CREATED\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def test_replies_by_length_are_read_whole_even_when_two_arrive_in_one_read(bench):
    first, second = _json_reply({"id": 1, "name": "张三"}), _json_reply({"id": 2})
    # the first reply in two sends, the second of which also holds the whole second reply
    server = Canned([([first[:30], first[30:] + second], False), ([], False)])
    try:
        client = bench.Client(server.port)
        assert client.call("POST", "/a", {"data": {"名": "李四"}}) == (
            201,
            {"id": 1, "name": "张三"},
        )
        # the second request: its reply was already read with the first's tail
        assert client.call("GET", "/b", headers={"Authorization": "Bearer x"}) == (201, {"id": 2})
        sent, second = server.received(2)
        head, _, body = sent.partition(b"\r\n\r\n")
        assert head.startswith(b"POST /a HTTP/1.1\r\n")
        assert b"Content-Type: application/json" in head
        assert b"Content-Length: %d" % len(body) in head
        assert orjson.loads(body) == {"data": {"名": "李四"}}
        assert b"Authorization: Bearer x" in second
        assert client.sock is not None  # kept alive
        client.close()
    finally:
        server.close()


def test_a_chunked_reply_is_joined(bench):
    body = orjson.dumps({"ok": True, "items": list(range(50))})
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % 10
        + body[:10]
        + b"\r\n"
        + b"%x;ext=1\r\n" % (len(body) - 10)
        + body[10:]
        + b"\r\n0\r\n\r\n"
    )
    server = Canned([([chunked[:40], chunked[40:]], False), ([_json_reply({"after": 1})], False)])
    try:
        client = bench.Client(server.port)
        assert client.call("GET", "/c") == (200, {"ok": True, "items": list(range(50))})
        assert client.call("GET", "/d") == (201, {"after": 1})
        client.close()
    finally:
        server.close()


def test_a_reply_without_length_ends_with_the_connection_and_the_next_call_reconnects(bench):
    server = Canned(
        [
            ([b"HTTP/1.1 400 BAD REQUEST\r\n\r\n", b'{"message": "\\u574f"}'], True),
            ([_json_reply({"again": True})], False),
        ]
    )
    try:
        client = bench.Client(server.port)
        assert client.call("POST", "/e", raw=b"xyz", ctype="text/plain") == (
            400,
            {"message": "坏"},
        )
        assert client.sock is None  # closed: the reply ended with the connection
        first = server.received(1)[0]
        assert b"Content-Type: text/plain" in first
        assert first.endswith(b"\r\n\r\nxyz")
        assert client.call("GET", "/f") == (201, {"again": True})
        client.close()
    finally:
        server.close()


def test_a_connection_closed_mid_reply_is_an_error_and_forgotten(bench):
    server = Canned([([b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"], True)])
    try:
        client = bench.Client(server.port)
        with pytest.raises(ConnectionError):
            client.call("GET", "/g")
        assert client.sock is None
    finally:
        server.close()

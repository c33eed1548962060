"""Watch streams over either transport behind one iterator (docs/api.md §6 and §6.1).

A watch is the same stream of events whether it comes as chunked HTTP (one JSON line per event)
or over WebSocket (one JSON text message per event, a close frame at the end). Tests that are
about what a watch reports take the `transport` fixture and open their watch with open_watch();
they then run once per transport. Tests about the HTTP framing itself stay chunked-only.

The WebSocket side is a small RFC 6455 client written here rather than python's websocket-client:
the tests need to see the HTTP answer of a refused upgrade (status and Status body), the exact
frames (text, close code), and to send frames of their own (pings, floods). test_watch_ws.py uses
websocket-client itself, as a browser-like client would.
"""

import base64
import hashlib
import json
import os
import socket
import struct

import http.client
import pytest

from conftest import FOOS, REQUEST_TIMEOUT_S, EventStream, WatchStream

TRANSPORTS = ("chunked", "websocket")

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    """The watch transport a test runs over: "chunked" or "websocket"."""
    return request.param


def watch_path(query="", path=FOOS):
    """PATH?watch=true&QUERY (a /watch/ path, or a PATH that has its ?watch=, as it is)."""
    sep = "&" if "?" in path else "?"
    if "/watch/" not in path and "watch=" not in path:
        path = f"{path}{sep}watch=true"
        sep = "&"
    return path + (f"{sep}{query}" if query else "")


def open_watch(server, transport, query="", path=FOOS, auth="admin", headers=None,
               subprotocols=None, timeout=REQUEST_TIMEOUT_S):
    """Opens a watch of PATH (the foos by default) with QUERY over `transport`.

    Returns once the response head arrived, so writes made afterwards are seen by the watch.
    The result has .ok (the stream started), .status, .events, .next(timeout),
    .collect(until, timeout), .body() (the answer when the watch was refused) and .close().
    """
    full = watch_path(query, path)
    if transport == "chunked":
        return ChunkedWatch(server.connection(auth, timeout), full,
                            server._auth_headers(auth, headers))
    if transport == "websocket":
        return WebSocketWatch(server, full, auth, headers, subprotocols, timeout)
    raise ValueError(f"unknown watch transport {transport!r}")


class ChunkedWatch(WatchStream):
    """conftest's chunked WatchStream, with the common interface."""

    transport = "chunked"

    @property
    def ok(self):
        return self.status == 200

    def body(self):
        return self.resp.read()


class WebSocketClosed(Exception):
    """The connection ended without a close frame (the chunked IncompleteRead's counterpart)."""


class WebSocketWatch(EventStream):
    """A watch over WebSocket: the upgrade, then one event per text message.

    .status is the HTTP status of the answer (101 when upgraded), .subprotocol the one the server
    echoed (None: none), .close_code the code of the server's close frame once it ended.
    """

    transport = "websocket"

    def __init__(self, server, path, auth="admin", headers=None, subprotocols=None,
                 timeout=REQUEST_TIMEOUT_S, method="GET", extra_lines=()):
        """extra_lines: raw header lines sent as they are (repeated headers, odd values)."""
        ctx = server.ssl_context(client_cert=(auth == "admin"))
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        if subprotocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(subprotocols))
        hdrs = {"Accept": "application/json"}
        hdrs.update(server._auth_headers(auth, headers))
        lines += [f"{name}: {value}" for name, value in hdrs.items()] + list(extra_lines)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.resp = http.client.HTTPResponse(self.sock)
        self.resp.begin()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.events = []
        self.ended = False
        self.close_code = None
        self.subprotocol = self.headers.get("Sec-WebSocket-Protocol")
        self._body = None
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            assert self.headers.get("Sec-WebSocket-Accept") == want, self.headers
            self.fp = self.resp.fp  # frames may already sit in its buffer: read through it

    @property
    def ok(self):
        return self.status == 101

    def body(self):
        """The HTTP answer's body of a refused upgrade."""
        if self._body is None:
            self._body = self.resp.read()
        return self._body

    # ---- frames

    def _read_exact(self, n):
        data = self.fp.read(n)
        if len(data) < n:
            raise WebSocketClosed(f"connection ended inside a frame; events: {self.events}")
        return data

    def read_frame(self):
        """(fin, opcode, payload) of the next frame; server frames are never masked."""
        head = self.fp.read(2)
        if not head:
            raise WebSocketClosed(f"connection ended without a close frame; events: {self.events}")
        if len(head) < 2:
            head += self._read_exact(1)
        fin, opcode = bool(head[0] & 0x80), head[0] & 0x0F
        assert head[0] & 0x70 == 0, "no extension was negotiated: RSV bits must be 0"
        assert not head[1] & 0x80, "a server must not mask its frames (RFC 6455 §5.1)"
        n = head[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        return fin, opcode, self._read_exact(n)

    def send_frame(self, opcode, payload=b"", fin=True):
        """Sends one masked client frame."""
        mask = os.urandom(4)
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def next_message(self, timeout=10.0):
        """(opcode, payload) of the next data message, pongs skipped, pings answered; None once
        the server's close frame arrived (answered with a close frame, as RFC 6455 asks)."""
        if self.ended:
            return None
        self.sock.settimeout(timeout)
        parts, first_op = [], None
        try:
            while True:
                fin, op, payload = self.read_frame()
                if op == OP_CLOSE:
                    self.ended = True
                    self.close_code = struct.unpack("!H", payload[:2])[0] if payload else None
                    try:
                        self.send_frame(OP_CLOSE, payload[:2])
                    except OSError:
                        pass
                    return None
                if op == OP_PING:
                    self.send_frame(OP_PONG, payload)
                    continue
                if op == OP_PONG:
                    continue
                if op != OP_CONT:
                    first_op = op
                parts.append(payload)
                if fin:
                    return first_op, b"".join(parts)
        except (socket.timeout, TimeoutError):
            pytest.fail(f"no watch event within {timeout}s; got so far: {self.events}")

    def next(self, timeout=10.0):
        """The next event (a dict), or None when the server closed the watch with a close
        frame. Fails the test when nothing arrives within `timeout` seconds; a connection cut
        without a close frame raises WebSocketClosed."""
        msg = self.next_message(timeout)
        if msg is None:
            return None
        op, payload = msg
        assert op == OP_TEXT, f"a JSON watch event is a text message, got opcode {op}"
        assert not payload.endswith(b"\n"), "one event per message, without a newline"
        ev = json.loads(payload)
        self.events.append(ev)
        return ev

    def close(self):
        """Closes the connection without a close frame: the client vanishes (the socket's file
        object holds the descriptor open too, so both are closed)."""
        for c in (self.resp, self.sock):
            try:
                c.close()
            except OSError:
                pass

"""Watch over WebSocket (docs/api.md §6.1) and the deprecated /watch/ paths (§6.2).

python's websocket-client (Debian's, the one python3-kubernetes uses) watches over wss with the
admin client certificate and with the bearer token subprotocol a browser sends; the server
echoes one of the other offered subprotocols, never the token. Only a watch can be upgraded;
errors before the upgrade are the Status answers a chunked watch gets. The watch semantics
themselves run over both transports in test_watch.py and test_watch_more.py.
"""

import base64
import json
import socket
import ssl
import struct
import time

import pytest
import websocket

from conftest import API_VERSION, BASE, FOOS, wait_until
from watch_transport import (OP_CONT, OP_PING, OP_PONG, OP_TEXT, WebSocketWatch, open_watch,
                             transport)  # noqa: F401 (fixture)

TOKEN = "tok-alice-0123456"  # short: see test_long_token_subprotocol_is_a_clear_400
TOKENS = {TOKEN: ("alice", ["dev"])}
BINARY = "base64.binary.k8s.io"
TOKEN_PREFIX = "base64url.bearer.authorization.k8s.io."
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
PARTIAL_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


def token_protocol(token):
    """The subprotocol carrying token: base64url without padding, as browsers' clients build it."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def wss_url(server, path):
    return f"wss://127.0.0.1:{server.port}{path}"


def sslopt(server, client_cert=True):
    pki = server.data_dir / "pki"
    opt = {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(pki / "ca.crt")}
    if client_cert:
        crt, key = server._client_cert()
        opt.update(certfile=str(crt), keyfile=str(key))
    return opt


def recv_event(ws):
    """The next watch event of a websocket-client connection (a text message)."""
    op, data = ws.recv_data()
    assert op == websocket.ABNF.OPCODE_TEXT, op
    return json.loads(data)


def status_of(w):
    """(HTTP status, Status reason, message) of a refused watch."""
    st = json.loads(w.body())
    assert (st["kind"], st["apiVersion"], st["code"]) == ("Status", "v1", w.status), st
    return w.status, st["reason"], st["message"]


# ---- python's websocket-client --------------------------------------------------------------


def test_websocket_client_watches_foos_with_the_admin_certificate(server):
    server.create_foo("foo-a")
    ws = websocket.create_connection(wss_url(server, f"{FOOS}?watch=true"),
                                     sslopt=sslopt(server), timeout=10)
    try:
        assert ws.getstatus() == 101
        assert ws.getsubprotocol() is None  # none offered: none echoed
        ev = recv_event(ws)
        assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "foo-a"), ev
        assert server.merge_patch("foo-a", {"spec": {"replicas": 4}}).status == 200
        assert server.request("DELETE", f"{FOOS}/foo-a").status == 200
        events = [recv_event(ws), recv_event(ws)]
        assert [e["type"] for e in events] == ["MODIFIED", "DELETED"], events
        assert events[0]["object"]["spec"]["replicas"] == 4
        assert events[0]["object"]["apiVersion"] == API_VERSION
    finally:
        ws.close()


@pytest.mark.tokens(TOKENS)
@pytest.mark.parametrize("order", ["token-first", "token-last"])
def test_bearer_token_subprotocol_authenticates_and_the_other_is_echoed(server, order):
    offered = [token_protocol(TOKEN), BINARY]
    if order == "token-last":
        offered.reverse()
    ws = websocket.create_connection(wss_url(server, f"{FOOS}?watch=true"),
                                     sslopt=sslopt(server, client_cert=False),
                                     subprotocols=offered, timeout=10)
    try:
        # websocket-client, like a browser, fails the connection unless one offered is echoed.
        assert ws.getsubprotocol() == BINARY
        assert ws.getheaders()["sec-websocket-protocol"] == BINARY  # never the token
        server.create_foo("foo-t")
        ev = recv_event(ws)
        assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "foo-t"), ev
    finally:
        ws.close()
    assert '"user":"alice"' in server.log_text()


@pytest.mark.tokens(TOKENS)
@pytest.mark.parametrize("token", ["not-a-known-token", "bad/base64+", "padded=="])
def test_invalid_token_subprotocol_is_401(server, token):
    proto = token_protocol(token) if "known" in token else TOKEN_PREFIX + token
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(wss_url(server, f"{FOOS}?watch=true"),
                                    sslopt=sslopt(server, client_cert=False),
                                    subprotocols=[proto, BINARY], timeout=10)
    assert e.value.status_code == 401


@pytest.mark.tokens(TOKENS)
def test_two_token_subprotocols_are_401(server):
    w = WebSocketWatch(server, f"{FOOS}?watch=true", auth=None,
                       subprotocols=[token_protocol(TOKEN), token_protocol(TOKEN), BINARY])
    assert status_of(w)[:2] == (401, "Unauthorized")


@pytest.mark.tokens(TOKENS)
def test_token_subprotocol_alone_is_a_400_naming_the_missing_protocol(server):
    # Nothing is left to echo, and a browser would fail the connection: say why instead.
    w = WebSocketWatch(server, f"{FOOS}?watch=true", auth=None,
                       subprotocols=[token_protocol(TOKEN)])
    status, reason, message = status_of(w)
    assert (status, reason) == (400, "BadRequest")
    assert BINARY in message, message


@pytest.mark.tokens({"x" * 200: ("bob", [])})
def test_long_token_subprotocol_is_a_clear_400(server):
    # libwebsockets 4.1.6 cannot read a Sec-WebSocket-Protocol header over 126 bytes (it would
    # drop the connection without a word): the server answers 400 and names the way out.
    w = WebSocketWatch(server, f"{FOOS}?watch=true", auth=None,
                       subprotocols=[BINARY, token_protocol("x" * 200)])
    status, reason, message = status_of(w)
    assert (status, reason) == (400, "BadRequest")
    assert "Authorization header" in message, message
    # The same token in the Authorization header works over WebSocket.
    w = open_watch(server, "websocket", auth="x" * 200, subprotocols=[BINARY])
    assert w.ok and w.subprotocol == BINARY, w.status
    w.close()


def test_unsupported_subprotocols_are_a_400(server):
    w = WebSocketWatch(server, f"{FOOS}?watch=true", subprotocols=["chat", "superchat"])
    status, reason, message = status_of(w)
    assert (status, reason) == (400, "BadRequest") and BINARY in message, message


# ---- what may be upgraded -------------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("GET", f"{FOOS}/foo-a"),
    ("GET", f"{FOOS}/foo-a?watch=true"),
    ("GET", FOOS),
    ("POST", FOOS),
    ("GET", f"{FOOS}/foo-a/status"),
    ("GET", BASE),
    ("GET", "/apis"),
    ("GET", "/openapi/v2"),
    ("GET", "/version"),
    ("GET", "/healthz"),
])
def test_upgrades_of_anything_but_a_watch_are_400(server, method, path):
    server.create_foo("foo-a")
    w = WebSocketWatch(server, path, method=method)
    status, reason, message = status_of(w)
    w.close()
    assert (status, reason) == (400, "BadRequest"), (method, path, message)
    assert "watch" in message, message
    assert server.get_foo("foo-a")["metadata"]["name"] == "foo-a"  # nothing happened


def test_other_upgrades_are_400_not_http2(server):
    # lws would switch to HTTP/2 on an h2c upgrade, even over TLS: the listener is HTTP/1.1 only.
    r = server.request("GET", FOOS, headers={"Upgrade": "h2c",
                                             "Connection": "Upgrade, HTTP2-Settings",
                                             "HTTP2-Settings": "AAMAAABkAAQAAP__"})
    assert r.status == 400, r
    assert (r.json()["kind"], r.json()["reason"]) == ("Status", "BadRequest"), r
    assert server.request("GET", FOOS).status == 200


@pytest.mark.parametrize("path,headers,auth", [
    (f"{BASE}/bars?watch=true", None, "admin"),                      # 404
    (f"{FOOS}?watch=true", {"Accept": "application/yaml"}, "admin"),  # 406
    (f"{FOOS}?watch=maybe", None, "admin"),                           # 400
    (f"{FOOS}?watch=true&labelSelector=a%3D%3D%3Db", None, "admin"),  # 400 selector
    (f"{FOOS}?watch=true", None, None),                               # 401 anonymous
])
def test_errors_before_the_upgrade_are_those_of_a_chunked_watch(server, path, headers, auth):
    chunked = server.request("GET", path, headers=headers, auth=auth)
    w = WebSocketWatch(server, path, headers=headers, auth=auth)
    assert w.status == chunked.status and w.status >= 400, (w.status, chunked)
    assert json.loads(w.body()) == chunked.json()
    w.close()


# ---- streams: framing, client frames, hang-ups ----------------------------------------------


def test_table_and_partial_object_metadata_events_over_websocket(server):
    server.create_foo("foo-a")
    table = open_watch(server, "websocket", headers={"Accept": TABLE_ACCEPT})
    partial = open_watch(server, "websocket", headers={"Accept": PARTIAL_ACCEPT})
    t, p = table.next(), partial.next()
    table.close()
    partial.close()
    assert (t["type"], t["object"]["kind"]) == ("ADDED", "Table"), t
    assert t["object"]["rows"][0]["cells"][0] == "foo-a", t
    assert (p["object"]["kind"], p["object"]["metadata"]["name"]) == (
        "PartialObjectMetadata", "foo-a"), p
    assert "spec" not in p["object"], p


def test_client_frames_are_ignored_and_pings_answered(server):
    w = open_watch(server, "websocket")
    for i in range(201):  # chatter a watch has no use for: messages of 3 fragments each
        w.send_frame(OP_TEXT if i % 3 == 0 else OP_CONT, b"x" * 1000, fin=(i % 3 == 2))
    w.send_frame(OP_PING, b"are you there")
    deadline = time.monotonic() + 10
    while True:  # the pong comes, and the stream goes on
        assert time.monotonic() < deadline, "no pong"
        w.sock.settimeout(deadline - time.monotonic())
        fin, op, payload = w.read_frame()
        if op == OP_PONG:
            assert payload == b"are you there"
            break
    server.create_foo("foo-after")
    ev = w.next()
    w.close()
    assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "foo-after"), ev


def test_a_client_that_vanishes_mid_stream_is_released(server):
    """Many events queued for a client that disappears: the server frees the watch (ASan checks
    the rest when the fixture stops the server) and keeps serving the others."""
    for i in range(50):
        server.create_foo(f"foo-{i:02d}", replicas=1)
    before = server.request("GET", "/readyz", auth=None).status
    gone = [open_watch(server, "websocket") for _ in range(3)]
    for w in gone:
        w.next()  # streaming
        # An RST, not a polite FIN: the client is gone at once.
        w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.close()
    for i in range(50):
        assert server.merge_patch(f"foo-{i:02d}", {"spec": {"replicas": 2}}).status == 200
    survivor = open_watch(server, "websocket", "fieldSelector=metadata.name%3Dfoo-00")
    assert survivor.next()["object"]["spec"]["replicas"] == 2
    survivor.close()
    assert before == 200
    wait_until(lambda: server.request("GET", "/readyz", auth=None).status == 200, 10, "ready")


def test_server_shutdown_closes_websocket_watches_with_a_close_frame(server):
    w = open_watch(server, "websocket")
    server.create_foo("foo-a")
    assert w.next()["type"] == "ADDED"
    server.sigterm()
    assert w.next(timeout=20) is None  # a close frame, not a cut connection
    assert w.close_code == 1000, w.close_code
    w.close()
    server.wait_exit()


# ---- the deprecated /watch/ paths -----------------------------------------------------------


def test_deprecated_watch_path_of_the_collection(server, transport):
    server.create_foo("foo-a")
    w = open_watch(server, transport, path=f"{BASE}/watch/foos")
    assert w.ok, w.status
    assert w.next()["object"]["metadata"]["name"] == "foo-a"
    server.create_foo("foo-b")
    ev = w.next()
    w.close()
    assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "foo-b"), ev


def test_deprecated_watch_path_of_one_object(server, transport):
    server.create_foo("foo-b")
    w = open_watch(server, transport, path=f"{BASE}/watch/foos/foo-a")
    assert w.ok, w.status
    server.create_foo("foo-a")
    assert server.merge_patch("foo-b", {"spec": {"replicas": 2}}).status == 200
    assert server.merge_patch("foo-a", {"spec": {"replicas": 3}}).status == 200
    events = w.collect(lambda evs: len(evs) >= 2)
    w.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "foo-a"), ("MODIFIED", "foo-a")], events


def test_deprecated_watch_paths_of_namespaced_and_core_kinds(server, transport):
    w = open_watch(server, transport, path="/api/v1/watch/namespaces/default")
    assert w.ok, w.status
    ev = w.next()
    w.close()
    assert (ev["object"]["kind"], ev["object"]["metadata"]["name"]) == ("Namespace", "default")
    w = open_watch(server, transport, path="/api/v1/watch/namespaces/default/events",
                   query="timeoutSeconds=1")
    assert w.ok, w.status
    w.close()


def test_deprecated_watch_path_errors(server):
    server.create_foo("foo-a")
    r = server.request("GET", f"{BASE}/watch/foos/foo-a?fieldSelector=metadata.name%3Dfoo-b")
    assert r.status == 400, r
    assert r.json()["message"] == "fieldSelector metadata.name doesn't match requested name"
    r = server.request("POST", f"{BASE}/watch/foos", {"kind": "Foo"})
    assert r.status == 405, r
    assert server.request("GET", f"{BASE}/watch/bars").status == 404
    assert server.request("GET", f"{BASE}/watch/foos/foo-a/status").status == 404


def test_openapi_lists_the_deprecated_watch_paths(server):
    v2 = server.get_json("/openapi/v2")
    v3 = server.get_json(f"/openapi/v3/apis/{API_VERSION}")
    for doc in (v2, v3):
        one = doc["paths"][f"{BASE}/watch/foos/{{name}}"]["get"]
        many = doc["paths"][f"{BASE}/watch/foos"]["get"]
        assert (one["operationId"], one["x-kubernetes-action"]) == (
            "watchDemoExampleComV1beta1Foo", "watch"), one
        assert (many["operationId"], many["x-kubernetes-action"]) == (
            "watchDemoExampleComV1beta1FooList", "watchlist"), many
    assert "WatchEvent" in json.dumps(v2["paths"][f"{BASE}/watch/foos"]["get"]["responses"])


# ---- hostile offers -------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [
    ["Sec-WebSocket-Protocol: " + "a" * 20000],                        # huge
    ["Sec-WebSocket-Protocol: " + ", ".join(f"p{i}" for i in range(40))],  # too many
    [f"Sec-WebSocket-Protocol: p{i}" for i in range(40)],               # repeated
    ["Sec-WebSocket-Protocol: base64.binary.k8s.io, a/b"],             # not a token
])
def test_hostile_subprotocol_offers_are_answered_400(server, lines):
    w = WebSocketWatch(server, f"{FOOS}?watch=true", extra_lines=lines)
    assert status_of(w)[:2] == (400, "BadRequest")
    w.close()
    assert server.request("GET", "/readyz", auth=None).status == 200

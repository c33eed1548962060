"""HTTP-level behaviour over raw HTTPS: body limits, authentication, health, shutdown."""

import http.client
import json
import socket
import ssl

import pytest

from conftest import FOOS, foo_manifest

MAX_BODY = 3 * 1024 * 1024


def read_status(conn):
    resp = conn.getresponse()
    return resp.status, resp.read()


def assert_status_object(body, code, reason):
    st = json.loads(body)
    assert st["kind"] == "Status", st
    assert st["apiVersion"] == "v1", st
    assert st["status"] == "Failure", st
    assert st["code"] == code, st
    assert st["reason"] == reason, st


def test_post_with_chunked_body_is_decoded_and_created(server):
    # Go clients (kubectl create --raw -f) send bodies of unknown length chunked; lws passes the
    # framing through, the server de-chunks it, answers, then closes the connection.
    conn = server.connection(timeout=10)
    body = json.dumps(foo_manifest("chunky")).encode()
    conn.putrequest("POST", FOOS)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Accept", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    half = len(body) // 2
    conn.send(b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:]))
    status, resp_body = read_status(conn)
    conn.close()
    assert status == 201, resp_body
    assert json.loads(resp_body)["metadata"]["name"] == "chunky"
    assert server.request("GET", f"{FOOS}/chunky").status == 200


def test_post_with_malformed_chunked_body_gets_400(server):
    conn = server.connection(timeout=10)
    conn.putrequest("POST", FOOS)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"zz\r\n{}\r\n0\r\n\r\n")
    status, resp_body = read_status(conn)
    conn.close()
    assert status == 400, resp_body


def test_post_without_any_content_length_gets_411(server):
    conn = server.connection(timeout=10)
    conn.putrequest("POST", FOOS)
    conn.putheader("Accept", "application/json")
    conn.endheaders()
    status, body = read_status(conn)
    conn.close()
    assert status == 411, body


def test_body_over_3_mib_gets_413(server):
    obj = foo_manifest("huge")
    obj["metadata"]["annotations"] = {"x": ""}
    overhead = len(json.dumps(obj).encode())
    obj["metadata"]["annotations"]["x"] = "a" * (MAX_BODY + 1 - overhead)
    body = json.dumps(obj).encode()
    assert len(body) == MAX_BODY + 1
    conn = server.connection(timeout=20)
    conn.putrequest("POST", FOOS)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Accept", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    # The server may answer before reading the whole body; stop sending when it does.
    try:
        for i in range(0, len(body), 65536):
            conn.sock.sendall(body[i:i + 65536])
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass
    status, resp_body = read_status(conn)
    conn.close()
    assert status == 413, resp_body[:500]
    assert_status_object(resp_body, 413, "RequestEntityTooLarge")
    assert server.request("GET", f"{FOOS}/huge").status == 404


def test_body_of_exactly_3_mib_is_not_rejected_as_too_large(server):
    obj = foo_manifest("big")
    obj["metadata"]["annotations"] = {"x": ""}
    overhead = len(json.dumps(obj).encode())
    obj["metadata"]["annotations"]["x"] = "a" * (MAX_BODY - overhead)
    r = server.request("POST", FOOS, obj)
    assert r.status != 413, r
    assert r.status in (201, 422), r  # annotation size limits may apply; the body limit may not


def test_anonymous_request_gets_401(server):
    r = server.request("GET", FOOS, auth=None)
    assert r.status == 401, r
    assert_status_object(r.body, 401, "Unauthorized")


def test_invalid_token_gets_401(server):
    r = server.request("GET", FOOS, auth="not-a-valid-token")
    assert r.status == 401, r
    assert_status_object(r.body, 401, "Unauthorized")


def test_health_endpoints_answer_anonymous_200_ok(server):
    for path in ("/readyz", "/livez", "/healthz"):
        r = server.request("GET", path, auth=None)
        assert r.status == 200, (path, r)
        assert r.body == b"ok", (path, r)


def test_sigterm_with_open_watch_ends_stream_and_exits_0(server):
    server.create_foo("foo-a")
    w = server.watch()
    assert w.status == 200
    ev = w.next(timeout=10)
    assert ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "foo-a"
    server.sigterm()
    # The stream must end with its terminating chunk (a cut stream raises IncompleteRead).
    try:
        end = w.next(timeout=15)
    except http.client.IncompleteRead as e:
        raise AssertionError(f"watch stream was cut without a terminating chunk: {e!r}")
    assert end is None, f"expected the end of the stream, got {end}"
    w.close()
    server.wait_exit()


TOKENS = {"hangup-token": ("hangup-user", ["system:masters"])}


@pytest.mark.tokens(TOKENS)
def test_a_write_whose_client_hangs_up_while_it_waits_for_the_compute_thread_is_safe(server):
    """The compute thread authorizes a write after the service thread has read it; a client that
    hangs up meanwhile must not free the identity the job is about to read (a use-after-free
    that crashed `make bench` when wrk closed its connections mid-write)."""
    server.create_foo("victim")
    # An unknown field: pruned (a warning), but parsed and walked first.
    big = json.dumps({"spec": {"unknownBig": {f"k{i}": "v" * 20 for i in range(60000)}}})
    small = json.dumps({"metadata": {"annotations": {"hangup": "1"}}})
    for _ in range(10):
        slow = server.connection()  # keeps the compute thread busy parsing a 2.6 MB patch
        slow.putrequest("PATCH", f"{FOOS}/victim")
        slow.putheader("Content-Type", "application/merge-patch+json")
        slow.putheader("Content-Length", str(len(big)))
        slow.endheaders(big.encode())
        victims = []
        for _ in range(5):  # queued behind it, then gone before their job runs
            v = server.connection(auth="hangup-token")
            v.putrequest("PATCH", f"{FOOS}/victim")
            v.putheader("Authorization", "Bearer hangup-token")
            v.putheader("Content-Type", "application/merge-patch+json")
            v.putheader("Content-Length", str(len(small)))
            v.endheaders(small.encode())
            victims.append(v)
        for v in victims:
            v.sock.shutdown(socket.SHUT_RDWR)
            v.close()
        assert slow.getresponse().status == 200
        slow.close()
    assert server.running()
    assert server.get_foo("victim")["metadata"]["annotations"] == {"hangup": "1"} or \
        "annotations" not in server.get_foo("victim")["metadata"]

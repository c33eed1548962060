"""Watch: kubectl get -w live, raw events, resume, and 410 for an expired resourceVersion.

Tests taking `transport` run over chunked HTTP and over WebSocket (watch_transport.py); kubectl's
test is chunked-only: kubectl watches over chunked HTTP, there is nothing to choose.
"""

import re

import pytest

from conftest import FOOS
from watch_transport import open_watch, transport  # noqa: F401 (fixture)

# Small history so that 20 writes push the first one out of the ring.
SMALL_HISTORY = ("--watch-cache-min-events", "5", "--watch-cache-min-age-seconds", "0")


def event_line(kind, name):
    """Predicate for a `kubectl get -w --output-watch-events` line: EVENT NAME ..."""
    pattern = re.compile(rf"^{kind}\s+{re.escape(name)}(\s|$)")
    return lambda line: bool(pattern.match(line))


def test_kubectl_get_w_shows_creation_change_and_deletion(server, kver):
    server.create_foo("foo-pre")
    proc, out = server.kubectl_popen("get", "foos", "-w", "--output-watch-events", version=kver)
    try:
        # The pre-existing object's row proves the list is done and the watch is starting;
        # later writes are seen either way because the watch resumes from the list's RV.
        out.wait_for(lambda line: "foo-pre" in line, 30, "the row of foo-pre")
        server.create_foo("foo-w")
        out.wait_for(event_line("ADDED", "foo-w"), 10, "ADDED foo-w")
        r = server.merge_patch("foo-w", {"spec": {"replicas": 2}})
        assert r.status == 200, r
        out.wait_for(event_line("MODIFIED", "foo-w"), 10, "MODIFIED foo-w")
        r = server.request("DELETE", f"{FOOS}/foo-w")
        assert r.status == 200, r
        out.wait_for(event_line("DELETED", "foo-w"), 10, "DELETED foo-w")
        assert proc.poll() is None, proc.stderr.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_watch_streams_added_modified_deleted_with_increasing_rvs(server, transport):
    w = open_watch(server, transport)
    assert w.ok, w.status
    if transport == "chunked":  # the HTTP framing (WebSocket frames are checked by open_watch)
        assert w.headers["Content-Type"].split(";")[0] == "application/json"
        assert w.headers.get("Transfer-Encoding") == "chunked"
    server.create_foo("foo-a")
    assert server.merge_patch("foo-a", {"spec": {"replicas": 3}}).status == 200
    assert server.request("DELETE", f"{FOOS}/foo-a").status == 200
    events = w.collect(lambda evs: len(evs) >= 3, timeout=10)
    w.close()
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"], events
    for e in events:
        assert e["object"]["kind"] == "Foo" and e["object"]["metadata"]["name"] == "foo-a"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(set(rvs)), rvs
    assert events[1]["object"]["spec"]["replicas"] == 3
    assert events[2]["object"]["spec"]["replicas"] == 3  # DELETED carries the final state


def test_watch_from_list_resource_version_sees_only_later_changes(server, transport):
    server.create_foo("foo-a")
    lst = server.get_json(FOOS)
    assert lst["kind"] == "FooList"
    rv = lst["metadata"]["resourceVersion"]
    server.create_foo("foo-b")
    assert server.merge_patch("foo-a", {"spec": {"replicas": 2}}).status == 200
    w = open_watch(server, transport, f"resourceVersion={rv}")
    assert w.ok, w.status
    events = w.collect(lambda evs: len(evs) >= 2, timeout=10)
    w.close()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "foo-b"), ("MODIFIED", "foo-a")], events


@pytest.mark.server_args(*SMALL_HISTORY)
def test_watch_from_expired_resource_version_gets_410_error_event(server, transport):
    old_rv = server.create_foo("foo-a")["metadata"]["resourceVersion"]
    for i in range(20):
        r = server.merge_patch("foo-a", {"spec": {"replicas": i + 2}})
        assert r.status == 200, r
    w = open_watch(server, transport, f"resourceVersion={old_rv}")
    assert w.ok, w.status
    ev = w.next(timeout=10)
    assert ev is not None and ev["type"] == "ERROR", ev
    st = ev["object"]
    assert (st["kind"], st["apiVersion"], st["status"]) == ("Status", "v1", "Failure"), st
    assert st["code"] == 410 and st["reason"] == "Expired", st
    assert w.next(timeout=10) is None, "an ERROR event must end the stream"
    w.close()

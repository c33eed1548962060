"""Watch conventions beyond the basics of test_watch.py: boolean spellings, framing, selectors,
timeoutSeconds, bookmarks, sendInitialEvents, and python's watch.Watch (docs/api.md §6;
checklist items 42, 43, 47-51 of its §11).

Tests taking `transport` run over chunked HTTP and over WebSocket (watch_transport.py). Chunked
only: the line framing of item 43 (over WebSocket each event is one text message, which
open_watch checks on every event) and the python client's watch (it speaks chunked HTTP).
"""

import json
import os
import time

from kubernetes import config, dynamic, watch

from conftest import API_VERSION, FOOS, labeled_foo, wait_until
from watch_transport import open_watch, transport  # noqa: F401 (fixture)

WATCH_LIST = "sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"


def names_and_types(events):
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


def read_to_end(w, timeout=10.0):
    """Reads events until the server ends the stream; returns them (fails at the deadline)."""
    deadline = time.monotonic() + timeout
    while w.next(max(0.1, deadline - time.monotonic())) is not None:
        assert time.monotonic() < deadline, f"stream did not end; events: {w.events}"
    return w.events


# Item 42: every ParseBool spelling of watch=true starts with one ADDED per existing object.
def test_watch_param_spellings_start_with_added_per_object(server, transport):
    server.create_foo("foo-b")
    server.create_foo("foo-a")
    for spelling in ("true", "True", "1", "t", "TRUE"):
        w = open_watch(server, transport, path=f"{FOOS}?watch={spelling}")
        assert w.ok, (spelling, w.status)
        if transport == "chunked":  # the HTTP framing
            assert w.headers["Content-Type"].split(";")[0] == "application/json", w.headers
            assert w.headers.get("Transfer-Encoding") == "chunked", w.headers
        events = [w.next() for _ in range(2)]
        w.close()
        assert sorted(names_and_types(events)) == [("ADDED", "foo-a"), ("ADDED", "foo-b")], (
            spelling, events)


# docs/api.md §5: ?watch=true on an item path is a plain GET, not a watch.
def test_watch_param_on_item_path_returns_the_object(server):
    server.create_foo("foo-a")
    r = server.request("GET", f"{FOOS}/foo-a?watch=true")
    assert r.status == 200, r
    assert r.json()["kind"] == "Foo" and r.json()["metadata"]["name"] == "foo-a", r


# Item 43: one JSON object per line, exactly {"type", "object"}, newline-terminated. (The 1 s
# delivery bound is measured by `make bench`, not asserted here: docs/design.md §7.)
def test_every_event_is_one_newline_terminated_json_line(server):
    server.create_foo("foo-a")
    conn = server.connection()
    conn.request("GET", f"{FOOS}?watch=1", headers={"Accept": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    conn.sock.settimeout(10)
    lines = [resp.readline()]  # the synthetic ADDED
    assert server.merge_patch("foo-a", {"spec": {"replicas": 2}}).status == 200
    assert server.request("DELETE", f"{FOOS}/foo-a").status == 200
    server.create_foo("foo-b")
    lines += [resp.readline() for _ in range(3)]
    conn.close()
    types = []
    for line in lines:
        assert line.endswith(b"\n") and b"\n" not in line[:-1], line
        ev = json.loads(line)
        assert sorted(ev) == ["object", "type"], ev
        assert ev["object"]["apiVersion"] == API_VERSION and ev["object"]["kind"] == "Foo", ev
        types.append(ev["type"])
    assert types == ["ADDED", "MODIFIED", "DELETED", "ADDED"], lines


# Item 47: without allowWatchBookmarks no BOOKMARK is ever sent. (Bookmarks themselves come once
# a minute, too slow for this suite.)
def test_no_bookmarks_without_allow_watch_bookmarks(server, transport):
    server.create_foo("foo-a")
    w = open_watch(server, transport, "timeoutSeconds=2")
    assert server.merge_patch("foo-a", {"spec": {"replicas": 2}}).status == 200
    server.create_foo("foo-b")
    events = read_to_end(w)
    w.close()
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "ADDED"], events


# Item 48: timeoutSeconds ends the stream cleanly: the end of the chunked body, or a close frame
# with code 1000 (normal closure).
def test_timeout_seconds_ends_stream_cleanly(server, transport):
    server.create_foo("foo-a")
    start = time.monotonic()
    w = open_watch(server, transport, "timeoutSeconds=1")
    assert w.ok, w.status
    events = read_to_end(w)  # IncompleteRead / WebSocketClosed here would mean an unclean end
    elapsed = time.monotonic() - start
    w.close()
    if transport == "websocket":
        assert w.close_code == 1000, w.close_code
    assert names_and_types(events) == [("ADDED", "foo-a")], events
    assert 0.9 <= elapsed < 10, elapsed


# Item 49: a field-selector watch reports only the named object (and `!=` all the others).
# Events come in resourceVersion order, so a leak of foo-b's changes would show up in between.
def test_field_selector_watch_reports_only_that_object(server, transport):
    server.create_foo("foo-b")
    w = open_watch(server, transport, "fieldSelector=metadata.name%3Dfoo-a")
    others = open_watch(server, transport, "fieldSelector=metadata.name%21%3Dfoo-a")
    server.create_foo("foo-a")
    for name in ("foo-b", "foo-a"):
        assert server.merge_patch(name, {"spec": {"replicas": 2}}).status == 200
    for name in ("foo-b", "foo-a"):
        assert server.request("DELETE", f"{FOOS}/{name}").status == 200
    server.create_foo("foo-c")
    events = w.collect(lambda evs: len(evs) >= 3)
    other_events = others.collect(lambda evs: len(evs) >= 4)
    w.close()
    others.close()
    assert names_and_types(events) == [("ADDED", "foo-a"), ("MODIFIED", "foo-a"),
                                       ("DELETED", "foo-a")], events
    assert names_and_types(other_events) == [("ADDED", "foo-b"), ("MODIFIED", "foo-b"),
                                             ("DELETED", "foo-b"), ("ADDED", "foo-c")], other_events


# Item 49: with a label selector, an object entering the selection is ADDED and one leaving it
# is DELETED (carrying its new state).
def test_label_selector_watch_reports_entering_and_leaving_objects(server, transport):
    assert server.request("POST", FOOS, labeled_foo("foo-out", {"app": "b"})).status == 201
    w = open_watch(server, transport, "labelSelector=app%3Da")
    assert server.request("POST", FOOS, labeled_foo("foo-a", {"app": "a"})).status == 201
    for labels in ({"app": "b"}, {"app": "a"}):
        assert server.merge_patch("foo-a", {"metadata": {"labels": labels}}).status == 200
    assert server.merge_patch("foo-out", {"spec": {"replicas": 2}}).status == 200
    assert server.merge_patch("foo-a", {"spec": {"replicas": 2}}).status == 200
    events = w.collect(lambda evs: len(evs) >= 4)
    w.close()
    assert names_and_types(events) == [("ADDED", "foo-a"), ("DELETED", "foo-a"),
                                       ("ADDED", "foo-a"), ("MODIFIED", "foo-a")], events
    assert events[1]["object"]["metadata"]["labels"] == {"app": "b"}, events


# Item 50: watch-list streams the snapshot, then a BOOKMARK marking its end, then live events.
def test_send_initial_events_ends_snapshot_with_annotated_bookmark(server, transport):
    server.create_foo("foo-b")
    server.create_foo("foo-a")
    list_rv = server.get_json(FOOS)["metadata"]["resourceVersion"]
    w = open_watch(server, transport, WATCH_LIST)
    assert w.ok, w.status
    events = w.collect(lambda evs: evs[-1]["type"] == "BOOKMARK" if evs else False)
    assert sorted(names_and_types(events[:-1])) == [("ADDED", "foo-a"), ("ADDED", "foo-b")]
    bm = events[-1]["object"]
    assert (bm["apiVersion"], bm["kind"]) == (API_VERSION, "Foo"), bm
    assert bm["metadata"]["resourceVersion"] == list_rv, bm
    assert bm["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}, bm
    server.create_foo("foo-c")
    ev = w.next()
    w.close()
    assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "foo-c"), ev


# Item 50: the parameter combinations kube rejects are 422 before streaming.
def test_watch_list_parameter_errors_are_422(server, transport):
    for query in ("sendInitialEvents=true",
                  "sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=1",
                  "resourceVersionMatch=NotOlderThan&resourceVersion=1"):
        w = open_watch(server, transport, query)
        status = w.status
        body = w.body()
        w.close()
        assert status == 422, (query, body)
        st = json.loads(body)
        assert (st["kind"], st["reason"], st["code"]) == ("Status", "Invalid", 422), st
        assert st["details"]["kind"] == "ListOptions", st


# docs/api.md §6: a resourceVersion in the future is an ERROR event 504 after the 200.
def test_watch_from_future_resource_version_gets_504_error_event(server, transport):
    rv = int(server.create_foo("foo-a")["metadata"]["resourceVersion"])
    w = open_watch(server, transport, f"resourceVersion={rv + 1000}")
    assert w.ok, w.status
    ev = w.next()
    assert ev["type"] == "ERROR", ev
    st = ev["object"]
    assert (st["kind"], st["code"], st["reason"]) == ("Status", 504, "Timeout"), st
    assert "Too large resource version" in st["message"], st
    assert w.next() is None, "an ERROR event must end the stream"
    w.close()


# Item 51 (python): watch.Watch().stream over DynamicClient's get sees create, update, delete.
def test_python_watch_stream_observes_create_update_delete(server, tmp_path):
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    dyn = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    foos = dyn.resources.get(api_version=API_VERSION, kind="Foo")
    foos.create(body={"apiVersion": API_VERSION, "kind": "Foo",
                      "metadata": {"name": "foo-py"}, "spec": {"replicas": 1}})
    w = watch.Watch()
    stream = w.stream(foos.get, serialize=False, timeout_seconds=20)
    seen = []
    try:
        ev = next(stream)  # the synthetic ADDED; the watch is open from here on
        seen.append((ev["type"], ev["raw_object"]["metadata"]["name"]))
        foos.patch(name="foo-py", body={"spec": {"replicas": 3}},
                   content_type="application/merge-patch+json")
        ev = next(stream)
        seen.append((ev["type"], ev["raw_object"]["spec"]["replicas"]))
        foos.delete(name="foo-py")
        ev = next(stream)
        seen.append((ev["type"], ev["raw_object"]["metadata"]["name"]))
    finally:
        w.stop()
    assert seen == [("ADDED", "foo-py"), ("MODIFIED", 3), ("DELETED", "foo-py")], seen


def _open_sockets(pid):
    """The server's open sockets, by inode: comparing sets, not counts, keeps a connection that
    closes meanwhile (a readiness probe's) from hiding one that opens."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue  # closed while listing
        if target.startswith("socket:"):
            out.add(target)
    return out


# A client that closes an idle watch must not leave its connection behind: nothing is written to
# an idle stream, so the server has to notice the hang-up by itself (docs/api.md §6; the thousand
# watchers of docs/design.md §8 depend on it).
def test_closed_idle_watches_are_released(server, transport):
    pid = server.proc.pid
    before = _open_sockets(pid)
    streams = [open_watch(server, transport) for _ in range(5)]
    for s in streams:
        assert s.ok, s.status
    wait_until(lambda: len(_open_sockets(pid) - before) >= 5, 10, "five watch sockets open")
    opened = _open_sockets(pid) - before
    for s in streams:
        s.close()
    wait_until(lambda: not (_open_sockets(pid) & opened), 20, "the closed watches released")

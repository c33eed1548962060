"""Durability: objects survive a restart, and every acknowledged create survives kill -9."""

import http.client
import ssl
import threading

from conftest import FOOS, foo_manifest, send, wait_until

WRITERS = 8
ACKS_BEFORE_KILL = 100


def test_objects_survive_restart(server):
    before = {}
    for name in ("foo-a", "foo-b", "foo-c"):
        server.create_foo(name, replicas=2)
    assert server.merge_patch("foo-b", {"spec": {"image": "nginx:1.26"}}).status == 200
    assert server.merge_patch("foo-c", {"status": {"replicas": 2}}, "status").status == 200
    assert server.request("DELETE", f"{FOOS}/foo-c").status == 200
    for name in ("foo-a", "foo-b"):
        before[name] = server.get_foo(name)
    last_rv = int(server.get_json(FOOS)["metadata"]["resourceVersion"])

    server.restart()

    for name, obj in before.items():
        assert server.get_foo(name) == obj
    assert server.request("GET", f"{FOOS}/foo-c").status == 404
    lst = server.get_json(FOOS)
    assert [i["metadata"]["name"] for i in lst["items"]] == ["foo-a", "foo-b"]
    assert int(lst["metadata"]["resourceVersion"]) >= last_rv
    # The revision stays monotonic across the restart.
    new = server.create_foo("foo-d")
    assert int(new["metadata"]["resourceVersion"]) > last_rv


def test_every_acknowledged_create_survives_kill9(server):
    acked = []
    rejected = []
    lock = threading.Lock()

    def writer(t):
        conn = server.connection(timeout=15)
        i = 0
        while True:
            name = f"crash-{t}-{i}"
            i += 1
            try:
                r = send(conn, "POST", FOOS, foo_manifest(name))
            except (OSError, ssl.SSLError, http.client.HTTPException):
                return  # the server is gone: this create may or may not have been stored
            with lock:
                (acked if r.status == 201 else rejected).append((name, r.status))
            if r.status != 201:
                return

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(WRITERS)]
    for t in threads:
        t.start()
    wait_until(lambda: len(acked) >= ACKS_BEFORE_KILL or rejected, 60,
               f"{ACKS_BEFORE_KILL} acknowledged creates")
    server.kill9()
    for t in threads:
        t.join(timeout=20)
        assert not t.is_alive(), "a writer did not notice the killed server"
    assert not rejected, f"creates answered with an error before the kill: {rejected[:5]}"

    server.start()
    stored = {i["metadata"]["name"] for i in server.get_json(FOOS)["items"]}
    missing = [name for name, _ in acked if name not in stored]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged creates lost: {missing[:10]}"
    for name, _ in acked[:: max(1, len(acked) // 10)]:
        assert server.request("GET", f"{FOOS}/{name}").status == 200, name

"""Several foo-apiserver replicas on one etcd (issue 10; docs/design.md, "Consistent reads and
replicas").

Each test runs a real etcd (etcd_support.py) and replicas that share one --data-dir (so their
PKI is created once, by whichever starts first) and one --etcd-prefix. Waiting is always on a
condition with a deadline; no fixed sleeps.
"""

import http.client
import json
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes import client, config, watch

from conftest import (FOOS, Server, _logdir, build_dir, finish_servers, foo_manifest, free_port,
                      wait_until)
from etcd_support import Etcd, TcpProxy, make_tls_dir, server_args

WRITERS_PER_REPLICA = 3
CREATES_PER_WRITER = 15


class Replica(Server):
    """A Server whose start() can return before readiness (see Replicas.start_together)."""

    defer_ready = False

    def _wait_ready(self):
        if not self.defer_ready:
            super()._wait_ready()


class Replicas:
    """Factory of replicas on one shared data dir and one etcd prefix; finish() checks them."""

    def __init__(self, tmp_path, logdir, name):
        self.tmp_path = tmp_path
        self.logdir = logdir
        self.name = name
        self.data_dir = tmp_path / "shared-data"
        self.prefix = f"/e2e/{uuid.uuid4().hex}"
        self.servers = []

    def make(self, etcd_like, *extra, start=True):
        """A replica on etcd_like (an Etcd, or a TcpProxy in front of one, with .url)."""
        workdir = self.tmp_path / f"replica{len(self.servers)}"
        workdir.mkdir()
        srv = Replica(workdir, self.logdir, f"{self.name}-r{len(self.servers)}",
                     server_args(etcd_like, self.prefix) + list(extra))
        srv.data_dir = self.data_dir
        srv.kubeconfig = self.data_dir / "kubeconfig"
        self.servers.append(srv)
        if start:
            srv.start()
        return srv

    def start_together(self, etcd_like, n, *extra):
        """n replicas started at the same time (PKI and namespace bootstrap race each other)."""
        made = [self.make(etcd_like, *extra, start=False) for _ in range(n)]
        # Spawned from this thread: a child's PR_SET_PDEATHSIG fires when the thread that
        # started it ends, so not from a pool's.
        for srv in made:
            srv.defer_ready = True
            srv.start()
        for srv in made:
            srv.defer_ready = False
            srv._wait_ready()
        return made

    def finish(self):
        finish_servers(self.servers)


@pytest.fixture
def replicas(request, tmp_path):
    r = Replicas(tmp_path, _logdir(tmp_path), request.node.name)
    request.node.foo_servers = r.servers  # log tails on failure (conftest's report hook)
    yield r
    r.finish()


def list_foos(srv, query=""):
    r = srv.request("GET", FOOS + (f"?{query}" if query else ""))
    assert r.status == 200, r
    return r.json()


def foo_names(srv):
    return {i["metadata"]["name"] for i in list_foos(srv)["items"]}


def watch_until_count(stream, n, timeout=30.0):
    """Reads ADDED/MODIFIED/DELETED events until n arrived; returns them (BOOKMARKs skipped)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"{len(got)} of {n} watch events within {timeout}s")
        ev = stream.next(left)
        assert ev is not None, f"watch ended after {len(got)} of {n} events"
        assert ev["type"] != "ERROR", ev
        if ev["type"] != "BOOKMARK":
            got.append(ev)
    return got


def rv_of(ev):
    return int(ev["object"]["metadata"]["resourceVersion"])


# ---- consistency across replicas ---------------------------------------------------------


def test_concurrent_writers_through_three_replicas(etcd, replicas):
    rs = replicas.start_together(etcd, 3)
    # Each watcher starts where its own replica's list was, as an informer does.
    watches = [r.watch(f"resourceVersion={list_foos(r)['metadata']['resourceVersion']}")
               for r in rs]

    acked = {}  # name -> (resourceVersion of the create, the replica's index)
    lock = threading.Lock()

    def writer(ri, wi):
        revs = []
        for i in range(CREATES_PER_WRITER):
            name = f"w{ri}-{wi}-{i}"
            r = rs[ri].request("POST", FOOS, foo_manifest(name, replicas=1))
            assert r.status == 201, r
            rv = int(r.json()["metadata"]["resourceVersion"])
            revs.append(rv)
            with lock:
                acked[name] = (rv, ri)
        assert revs == sorted(revs), f"one writer's revisions went backwards: {revs}"

    with ThreadPoolExecutor(3 * WRITERS_PER_REPLICA) as pool:
        futures = [pool.submit(writer, ri, wi) for ri in range(3)
                   for wi in range(WRITERS_PER_REPLICA)]
        for f in futures:
            f.result()

    total = 3 * WRITERS_PER_REPLICA * CREATES_PER_WRITER
    revs = [rv for rv, _ in acked.values()]
    assert len(acked) == total
    assert len(set(revs)) == total, "two acknowledged writes share a resourceVersion"

    # Every acknowledged write is on every replica, read consistently (no resourceVersion).
    for r in rs:
        assert foo_names(r) == set(acked), r.url
    # Each replica's watcher got every event once, in revision order, whichever replica wrote.
    for r, w in zip(rs, watches):
        evs = watch_until_count(w, total)
        got = [rv_of(e) for e in evs]
        assert got == sorted(got), f"{r.url}: events out of order"
        assert len(set(got)) == total, f"{r.url}: a duplicate event"
        assert {e["object"]["metadata"]["name"] for e in evs} == set(acked)
        assert all(e["type"] == "ADDED" for e in evs)
        w.close()


def test_a_read_on_one_replica_shows_a_write_acknowledged_by_another(etcd, replicas):
    a, b = replicas.start_together(etcd, 2)
    for i in range(25):
        name = f"ryw-{i}"
        created = a.create_foo(name, replicas=i)
        got = b.get_foo(name)  # no resourceVersion: the most recent, as kube reads
        assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        r = a.merge_patch(name, {"spec": {"replicas": i + 100}})
        assert r.status == 200, r
        assert b.get_foo(name)["spec"]["replicas"] == i + 100
        assert name in foo_names(b)
        r = a.merge_patch(name, {"spec": {"replicas": i + 200}}, subresource="scale")
        assert r.status == 200, r
        assert b.get_json(f"{FOOS}/{name}/scale")["spec"]["replicas"] == i + 200
    # resourceVersion=0 may be served from the cache as it is: it answers, whatever it holds.
    assert list_foos(b, "resourceVersion=0")["kind"] == "FooList"
    # A resourceVersion the replica has reached is served at once; list RVs match across replicas.
    rv = list_foos(a)["metadata"]["resourceVersion"]
    assert int(list_foos(b, f"resourceVersion={rv}")["metadata"]["resourceVersion"]) >= int(rv)


def test_a_resource_version_never_reached_is_a_504_after_kubes_3_seconds(etcd, replicas):
    (a,) = replicas.start_together(etcd, 1)
    far = int(list_foos(a)["metadata"]["resourceVersion"]) + 1_000_000
    r = a.request("GET", f"{FOOS}?resourceVersion={far}")
    assert r.status == 504, r
    st = r.json()
    assert st["reason"] == "Timeout"
    assert st["message"].startswith(f"Too large resource version: {far}, current: ")
    assert st["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_updates_from_the_same_resource_version_on_two_replicas_one_wins(etcd, replicas):
    a, b = replicas.start_together(etcd, 2)
    for i in range(5):
        name = f"race-{i}"
        foo = a.create_foo(name, replicas=1)
        b.get_foo(name)  # both replicas know the object

        def put(srv, replicas_value):
            body = json.loads(json.dumps(foo))
            body["spec"]["replicas"] = replicas_value
            return srv.request("PUT", f"{FOOS}/{name}", body).status

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(put, (a, b), (2, 3)))
        assert statuses == [200, 409], statuses


def test_bootstrapped_namespaces_exist_once_whichever_replica_started_first(etcd, replicas):
    rs = replicas.start_together(etcd, 3)
    for r in rs:
        names = [i["metadata"]["name"] for i in r.get_json("/api/v1/namespaces")["items"]]
        assert len(names) == len(set(names)), names
        assert {"default", "kube-system"} <= set(names)


# ---- faults ------------------------------------------------------------------------------


def test_kill9_of_a_replica_mid_write_loses_no_acknowledged_write(etcd, replicas):
    a, b = replicas.start_together(etcd, 2)
    acked = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            try:
                r = a.request("POST", FOOS, foo_manifest(f"k9-{i}", replicas=1), timeout=5)
            except (OSError, http.client.HTTPException):
                return  # the replica died under us: this write was never acknowledged
            if r.status == 201:
                acked.append(f"k9-{i}")
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    wait_until(lambda: len(acked) >= 20, 30, "20 acknowledged creates")
    a.kill9()
    stop.set()
    t.join(30)
    assert not t.is_alive()
    names = foo_names(b)
    lost = [n for n in acked if n not in names]
    assert not lost, f"acknowledged but lost: {lost}"


def test_etcd_paused_writes_fail_fast_readyz_fails_and_everything_recovers(etcd_private,
                                                                          replicas):
    a, b = replicas.start_together(etcd_private, 2)
    a.create_foo("before", replicas=1)
    rv = list_foos(b)["metadata"]["resourceVersion"]
    w = b.watch(f"resourceVersion={rv}")
    assert b.request("GET", "/readyz").status == 200

    etcd_private.pause()
    paused_at = time.monotonic()
    try:
        # Answered within 10 s, never a hang: the client gives up (and the test fails) past it.
        r = a.request("POST", FOOS, foo_manifest("during", replicas=1), timeout=10)
        assert 500 <= r.status <= 599, r
        assert r.json()["kind"] == "Status"
        wait_until(lambda: a.request("GET", "/readyz").status == 500, 15, "/readyz failing")
        body = a.request("GET", "/readyz?verbose").body.decode()
        assert "[-]etcd failed: reason withheld" in body, body
        # etcd stays stopped for 10 s in all; /readyz keeps failing meanwhile.
        while time.monotonic() - paused_at < 10:
            assert a.request("GET", "/readyz").status == 500
            time.sleep(0.5)
    finally:
        etcd_private.resume()

    wait_until(lambda: all(r.request("GET", "/readyz").status == 200 for r in (a, b)), 30,
               "/readyz recovering on both replicas")

    def create_after():
        r = a.request("POST", FOOS, foo_manifest("after", replicas=1))
        return r.status == 201

    wait_until(create_after, 20, "a create after etcd came back")
    # The watcher on the other replica resumes without a gap or a duplicate (the write answered
    # 5xx may still have been applied by etcd when it came back: it is then an event like any).
    seen = []
    while "after" not in [e["object"]["metadata"].get("name") for e in seen]:
        ev = w.next(20)
        assert ev is not None, f"watch ended; events: {seen}"
        if ev["type"] == "ERROR":
            assert ev["object"]["code"] == 410, ev  # allowed: the client relists
            return
        if ev["type"] != "BOOKMARK":
            seen.append(ev)
    revs = [rv_of(e) for e in seen]
    assert revs == sorted(revs) and len(set(revs)) == len(revs), revs
    assert "after" in foo_names(b)


def test_a_watch_from_a_revision_another_replica_acknowledged_waits_for_it(etcd_private,
                                                                          replicas):
    """An informer lists on A and watches on B, which has not seen A's last write yet: the watch
    waits for B's cache to reach that revision (kube's 3 s), rather than failing with 504."""
    proxy = TcpProxy(etcd_private.url)
    try:
        a = replicas.make(etcd_private)
        b = replicas.make(proxy)
        proxy.cut()  # b stops hearing of writes
        a.create_foo("seen-by-a", replicas=1)
        rv = int(list_foos(a)["metadata"]["resourceVersion"])
        behind = int(list_foos(b, "resourceVersion=0")["metadata"]["resourceVersion"])
        assert behind < rv, (behind, rv)
        proxy.restore()  # b's watch of etcd comes back within its backoff (well under 3 s)
        w = b.watch(f"resourceVersion={rv}")
        assert w.status == 200
        a.create_foo("after", replicas=1)
        ev = watch_until_count(w, 1)[0]
        w.close()
        assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "after"), ev
    finally:
        proxy.close()


def test_compaction_past_a_cut_off_replica_gives_its_watchers_410_and_informers_relist(
        etcd_private, replicas):
    proxy = TcpProxy(etcd_private.url)
    try:
        a = replicas.make(etcd_private, "--etcd-compaction-interval", "0")
        b = replicas.make(proxy, "--etcd-compaction-interval", "0")
        a.create_foo("old", replicas=1)
        rv = list_foos(b)["metadata"]["resourceVersion"]
        w = b.watch(f"resourceVersion={rv}")

        proxy.cut()  # b loses etcd: its watch breaks and cannot come back yet
        for i in range(5):
            a.create_foo(f"missed-{i}", replicas=1)
        r = a.request("DELETE", f"{FOOS}/old")
        assert r.status == 200, r
        etcd_private.compact()
        proxy.restore()

        # b's cache is rebuilt from a snapshot: its watcher from before gets 410 Expired ...
        ev = w.next(30)
        while ev is not None and ev["type"] != "ERROR":
            ev = w.next(30)
        assert ev is not None, "the watch ended without an ERROR event"
        assert ev["object"]["code"] == 410, ev
        assert ev["object"]["reason"] == "Expired", ev
        # ... and an informer relists: python3-kubernetes' watch from the stale revision fails
        # with 410 too, and a relist shows what b missed.
        api_client = config.new_client_from_config(str(b.kubeconfig))
        api_client.configuration.host = b.url  # the shared kubeconfig names the last replica
        api = client.CustomObjectsApi(api_client)
        with pytest.raises(client.exceptions.ApiException) as e:
            for _ in watch.Watch().stream(api.list_cluster_custom_object, "demo.example.com",
                                          "v1beta1", "foos", resource_version=rv,
                                          timeout_seconds=10):
                pass
        assert e.value.status == 410
        relisted = api.list_cluster_custom_object("demo.example.com", "v1beta1", "foos")
        names = {i["metadata"]["name"] for i in relisted["items"]}
        assert names == {f"missed-{i}" for i in range(5)}
    finally:
        proxy.close()


def test_several_etcd_servers_a_dead_one_first(etcd, replicas):
    """--etcd-servers takes a comma-separated list; a URL nobody answers is passed over."""

    class TwoUrls:
        url = f"http://127.0.0.1:{free_port()},{etcd.url}"
        tls_dir = None

    a = replicas.make(TwoUrls())
    a.create_foo("via-the-second", replicas=1)
    assert "via-the-second" in foo_names(a)


# ---- TLS to etcd -------------------------------------------------------------------------


def test_tls_to_etcd_with_client_certificates(tmp_path, replicas):
    tls = make_tls_dir(tmp_path / "etcd-tls")
    e = Etcd(tmp_path / "etcd-tls-state", tls_dir=tls).start()
    try:
        a, b = replicas.start_together(e, 2)
        a.create_foo("over-tls", replicas=2)
        assert b.get_foo("over-tls")["spec"]["replicas"] == 2
        assert e.keys(replicas.prefix + "/"), "nothing stored under the prefix in etcd"
    finally:
        e.stop()


def test_bad_flags_exit_2_with_a_message(tmp_path):
    binary = str(build_dir() / "foo-apiserver")
    for args, words in ((["--storage", "etcd"], "--etcd-servers"),
                        (["--storage", "mysql"], "--storage"),
                        (["--storage", "etcd", "--etcd-servers", "http://127.0.0.1:1",
                          "--etcd-compaction-interval", "5 minutes"],
                         "--etcd-compaction-interval")):
        p = subprocess.run([binary, "--standalone", "--data-dir", str(tmp_path / "d"), *args],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, (args, p.stderr)
        assert words in p.stderr, (args, p.stderr)

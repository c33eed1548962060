"""Storage faults (issue 12): a failing disk under a real foo-apiserver on SQLite.

The server runs under test/faults/faultfs.c (an LD_PRELOAD test double of a failing disk, built
as faultfs.so next to foo-apiserver), which fails write or fsync calls on the database's files
(foo.db, foo.db-wal, foo.db-shm) with ENOSPC or EIO while its control file says so. What is
checked (docs/design.md, "Storage faults"):
  - every write during the fault is answered 500 InternalError, and reads keep working;
  - writes succeed again once the fault is switched off, without a restart;
  - after a restart (clean, or kill -9) every acknowledged write is there, unchanged, and no
    write that was answered 500 is.
"""

import json
import os
import shlex
import subprocess
import threading

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from conftest import (FOOS, GROUP, VERSION, Server, _logdir, assert_failure, build_dir, foo_manifest, send,
                      wait_until)

pytestmark = pytest.mark.sqlite_only

FAULTS = [("write", "ENOSPC"), ("write", "EIO"), ("fsync", "ENOSPC"), ("fsync", "EIO")]


def sanitizer_runtime(binary):
    """The sanitizer runtime foo-apiserver links (it must come first in LD_PRELOAD), or None."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].startswith(("libasan.", "libtsan.")) and "=>" in parts:
            return parts[parts.index("=>") + 1]
    return None


class Disk:
    """The fault switch of one server: rewrites faultfs's control file atomically."""

    def __init__(self, workdir, target):
        self.control = workdir / "faultfs.control"
        self.target = target
        self.off()

    def _write(self, text):
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.control)

    def fail(self, calls, err):
        self._write(f"{calls} {err} {self.target}\n")

    def off(self):
        self._write("")

    def hits(self):
        p = self.control.with_name(self.control.name + ".hits")
        return int(p.read_text()) if p.exists() else 0


@pytest.fixture
def faulty(request, tmp_path):
    """(server, disk): a started foo-apiserver whose database files sit on a Disk."""
    workdir = tmp_path / "server0"
    workdir.mkdir()
    srv = Server(workdir, _logdir(tmp_path), request.node.name)
    request.node.foo_servers = [srv]
    disk = Disk(workdir, str(srv.data_dir / "foo.db"))
    shim = build_dir() / "faultfs.so"
    if not shim.exists():
        pytest.fail(f"{shim} does not exist (build the faultfs target)")
    preload = [p for p in (sanitizer_runtime(srv.binary), str(shim)) if p]
    wrapper = workdir / "foo-apiserver-on-faulty-disk"
    wrapper.write_text("#!/bin/sh\n"
                       f"FAULTFS_CONTROL={shlex.quote(str(disk.control))} "
                       f"LD_PRELOAD={shlex.quote(':'.join(preload))} "
                       f"exec {shlex.quote(str(srv.binary))} \"$@\"\n")
    wrapper.chmod(0o755)
    srv.binary = wrapper
    srv.start()
    yield srv, disk
    disk.off()
    srv.finish()


def create(srv, name):
    return srv.request("POST", FOOS, foo_manifest(name, replicas=1))


def names(srv):
    return {i["metadata"]["name"] for i in srv.get_json(FOOS)["items"]}


def assert_storage_failure(r):
    st = assert_failure(r, 500, "InternalError")
    assert st["message"].startswith("Internal error occurred: "), st


def check_after_restart(srv, acked, refused):
    """Every acknowledged object is there unchanged; no refused one is."""
    for name, obj in acked.items():
        assert srv.get_foo(name) == obj, name
    stored = names(srv)
    assert not stored & set(refused), f"refused writes came back: {sorted(stored & set(refused))}"
    assert stored == set(acked), stored ^ set(acked)


@pytest.mark.parametrize("calls,err", FAULTS, ids=[f"{c}-{e}" for c, e in FAULTS])
def test_fault_gives_500_then_writes_resume(faulty, calls, err):
    srv, disk = faulty
    acked = {n: srv.create_foo(n, replicas=1) for n in ("before-a", "before-b")}

    disk.fail(calls, err)
    refused = [f"during-{i}" for i in range(5)]
    for name in refused:
        assert_storage_failure(create(srv, name))
    patch = srv.merge_patch("before-a", {"spec": {"replicas": 3}})
    assert_storage_failure(patch)
    assert_storage_failure(srv.request("DELETE", f"{FOOS}/before-b"))
    assert disk.hits() > 0, "the fault was never injected"
    # Reads are served from the watch cache throughout.
    assert srv.get_foo("before-a") == acked["before-a"]
    assert names(srv) == set(acked)
    for name in refused:
        assert srv.request("GET", f"{FOOS}/{name}").status == 404

    disk.off()
    acked["after"] = srv.create_foo("after", replicas=1)
    r = srv.merge_patch("before-a", {"spec": {"replicas": 3}})
    assert r.status == 200, r
    acked["before-a"] = r.json()

    srv.restart()
    check_after_restart(srv, acked, refused)


@pytest.mark.parametrize("calls,err", [("fsync", "EIO"), ("write", "ENOSPC")],
                         ids=["fsync-EIO", "write-ENOSPC"])
def test_kill9_during_fault_brings_nothing_back(faulty, calls, err):
    """The failed batch must not be replayed from the WAL, even by a crash during the fault."""
    srv, disk = faulty
    acked = {n: srv.create_foo(n) for n in ("before-a", "before-b")}
    disk.fail(calls, err)
    refused = ["during-a", "during-b"]
    for name in refused:
        assert_storage_failure(create(srv, name))
    srv.kill9()
    disk.off()
    srv.start()
    check_after_restart(srv, acked, refused)
    acked["after"] = srv.create_foo("after")
    srv.restart()
    check_after_restart(srv, acked, refused)


def test_clean_restart_during_fault(faulty):
    """SIGTERM while fsync still fails: the server exits cleanly and loses nothing acknowledged."""
    srv, disk = faulty
    acked = {n: srv.create_foo(n) for n in ("before-a", "before-b")}
    disk.fail("fsync", "EIO")
    assert_storage_failure(create(srv, "during"))
    srv.stop()
    disk.off()
    srv.start()
    check_after_restart(srv, acked, ["during"])


def test_many_writers_through_a_fault(faulty):
    """Concurrent creates across fault on/off: exactly the 201s survive a restart."""
    srv, disk = faulty
    results = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(t):
        conn = srv.connection()
        i = 0
        while not stop.is_set():
            name = f"w{t}-{i}"
            i += 1
            r = send(conn, "POST", FOOS, foo_manifest(name))
            with lock:
                results[name] = r

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(4)]
    for t in threads:
        t.start()
    def count(code):
        with lock:  # the writers add to results meanwhile
            return sum(1 for r in results.values() if r.status == code)

    wait_until(lambda: count(201) >= 20, 30, "20 creates before the fault")
    disk.fail("fsync", "EIO")
    wait_until(lambda: count(500) >= 20, 30, "20 refused creates")
    disk.off()
    ok_before = count(201)
    wait_until(lambda: count(201) >= ok_before + 20, 30, "20 creates after the fault")
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert all(r.status in (201, 500) for r in results.values()), results
    for r in results.values():
        if r.status == 500:
            assert_storage_failure(r)
    acked = {n: r.json() for n, r in results.items() if r.status == 201}
    refused = [n for n, r in results.items() if r.status == 500]
    srv.restart()
    check_after_restart(srv, acked, refused)


def test_real_clients_see_the_500_and_recover(faulty):
    """kubectl and python3-kubernetes get kube's InternalError during the fault, then succeed."""
    srv, disk = faulty
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(srv.kubeconfig)))

    disk.fail("fsync", "ENOSPC")
    with pytest.raises(ApiException) as exc:
        api.create_cluster_custom_object(GROUP, VERSION, "foos", foo_manifest("py-during"))
    assert exc.value.status == 500
    assert json.loads(exc.value.body)["reason"] == "InternalError"
    cp = srv.kubectl("create", "-f", "-", input=yaml.safe_dump(foo_manifest("kc-during")))
    assert cp.returncode != 0, cp
    assert "Internal error occurred" in cp.stderr, cp.stderr
    # Reads through both clients keep working.
    assert api.list_cluster_custom_object(GROUP, VERSION, "foos")["items"] == []
    assert srv.kubectl("get", "foos").returncode == 0

    disk.off()
    api.create_cluster_custom_object(GROUP, VERSION, "foos", foo_manifest("py-after"))
    cp = srv.kubectl("create", "-f", "-", input=yaml.safe_dump(foo_manifest("kc-after")))
    assert cp.returncode == 0, cp.stderr
    srv.kill9()
    srv.start()
    assert names(srv) == {"py-after", "kc-after"}

"""foo-controller-manager at scale: 1000 Foos at once, and the apiserver killed under it.

The real manager (with --simulate-deployments) against the real standalone server: 1000 Foos
are created at once by 16 concurrent clients; once the controller is half-way through, the
apiserver is killed with SIGKILL and started again on the same port and data dir. The same
manager process (never restarted) must then bring every Foo to the Deployment of
docs/design.md §2 and to Ready, checked in bulk from one LIST of Foos and one LIST of
Deployments. Waits are on conditions with deadlines, never fixed sleeps.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import API_VERSION, FOOS, foo_manifest, send, wait_until
from test_controller import (APPS, FINALIZER, RESTART_ANNOTATION, SELECTOR_LABEL,
                             ready_condition)
from test_controller import make_manager  # noqa: F401 (a fixture, found by pytest by name)

DEPLOYMENTS = f"{APPS}/namespaces/default/deployments"

COUNT = 1000
CLIENTS = 16
# Successful Foo reconciles before the kill: half-way, as convergence needs at least two per Foo
# (one creates the Deployment, one reports the simulated rollout as Ready).
KILL_AFTER_RECONCILES = COUNT
# Every key the workers take while the server is down fails at once (connection refused), and
# the queue's overall retry limiter (10 per second, burst 100: controller-runtime's default,
# docs/controller-manager.md §4.2) then spaces those keys' retries out: recovery takes about
# (keys failed) / 10 seconds, 80-100 s here under ASan.
CONVERGE_TIMEOUT_S = 180.0
POLL_S = 1.0


def foo_name(i):
    return f"scale-{i:04d}"


def foo_spec(i):
    """Varied specs, so that a field copied from the wrong Foo shows."""
    spec = {"replicas": i % 4, "image": f"nginx:1.{20 + i % 8}"}
    if i % 10 == 0:
        spec["restartedAt"] = f"2026-01-01T00:00:{i % 60:02d}Z"
    return spec


def create_all(server):
    """Creates the COUNT Foos from CLIENTS threads, each on its own keep-alive connection."""
    local = threading.local()

    def create(i):
        if not hasattr(local, "conn"):
            local.conn = server.connection()
        r = send(local.conn, "POST", FOOS, foo_manifest(foo_name(i), **foo_spec(i)))
        assert r.status == 201, r
        return r.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        created = list(pool.map(create, range(COUNT)))
    return {f["metadata"]["name"]: f for f in created}


def list_items(server, path):
    r = server.request("GET", path)
    assert r.status == 200, r
    return r.json()["items"]


def foo_converged(foo):
    """Ready=True for the Foo's current generation, its status matching its spec."""
    st = foo.get("status", {})
    c = ready_condition(foo)
    gen = foo["metadata"]["generation"]
    want = foo["spec"]["replicas"]
    return (c is not None and c["status"] == "True" and c["reason"] == "Available"
            and c.get("observedGeneration") == gen and st.get("observedGeneration") == gen
            and st.get("replicas", 0) == want and st.get("availableReplicas", 0) == want)


def deployment_problems(d, foo):
    """What differs from the Deployment docs/design.md §2 implies for foo (a list of strings)."""
    name = foo["metadata"]["name"]
    spec = foo["spec"]
    md = d["metadata"]
    problems = []

    def check(what, got, want):
        if got != want:
            problems.append(f"{name}: {what} is {got!r}, want {want!r}")

    check("namespace", md.get("namespace"), "default")
    labels = md.get("labels", {})
    for k, v in (("app.kubernetes.io/name", "foo"), ("app.kubernetes.io/instance", name),
                 ("app.kubernetes.io/managed-by", "foo-controller-manager")):
        check(f"label {k}", labels.get(k), v)
    refs = md.get("ownerReferences", [])
    check("owner references", [(r.get("apiVersion"), r.get("kind"), r.get("name"), r.get("uid"),
                                r.get("controller"), r.get("blockOwnerDeletion")) for r in refs],
          [(API_VERSION, "Foo", name, foo["metadata"]["uid"], True, True)])
    check("replicas", d["spec"].get("replicas"), spec["replicas"])
    check("selector", d["spec"].get("selector"), {"matchLabels": {SELECTOR_LABEL: name}})
    tmpl = d["spec"]["template"]
    check("template labels", tmpl["metadata"].get("labels"), {SELECTOR_LABEL: name})
    check("restart annotation",
          (tmpl["metadata"].get("annotations") or {}).get(RESTART_ANNOTATION),
          spec.get("restartedAt") or None)
    check("containers", [(c.get("name"), c.get("image")) for c in tmpl["spec"]["containers"]],
          [("app", spec["image"])])
    # The simulated rollout of its latest generation.
    st = d.get("status", {})
    check("status.observedGeneration", st.get("observedGeneration"), md.get("generation"))
    check("status.availableReplicas", st.get("availableReplicas", 0), spec["replicas"])
    return problems


def test_a_thousand_foos_converge_across_an_apiserver_crash_without_a_manager_restart(
        server, make_manager):
    manager = make_manager(server, "--simulate-deployments")
    pid = manager.proc.pid
    created = create_all(server)
    assert len(created) == COUNT

    # Part-way through: kill the apiserver, then start it again on the same port and data.
    def part_way():
        n = manager.metric("controller_runtime_reconcile_total", controller="foo",
                           result="success")
        return n if n >= KILL_AFTER_RECONCILES else None
    done_at_kill = wait_until(part_way, CONVERGE_TIMEOUT_S, f"{KILL_AFTER_RECONCILES} reconciles")
    server.kill9()
    assert done_at_kill < 2 * COUNT, "the controller had finished before the crash"
    server.start()

    # The same manager converges: every Foo Ready for its generation.
    def all_ready():
        foos = list_items(server, FOOS)
        return foos if len(foos) == COUNT and all(map(foo_converged, foos)) else None
    foos = wait_until(all_ready, CONVERGE_TIMEOUT_S, f"{COUNT} Foos Ready", interval=POLL_S)
    assert manager.running() and manager.proc.pid == pid, "the manager was restarted"

    # Every Foo kept its identity across the crash and carries the finalizer.
    by_name = {f["metadata"]["name"]: f for f in foos}
    assert by_name.keys() == created.keys()
    for name, foo in by_name.items():
        assert foo["metadata"]["uid"] == created[name]["metadata"]["uid"], name
        assert FINALIZER in foo["metadata"].get("finalizers", []), name
        assert foo["status"]["selector"] == f"{SELECTOR_LABEL}={name}", foo["status"]

    # One Deployment per Foo, each as docs/design.md §2 says, from one LIST.
    deployments = {d["metadata"]["name"]: d for d in list_items(server, DEPLOYMENTS)}
    assert deployments.keys() == by_name.keys()
    problems = [p for name, d in deployments.items()
                for p in deployment_problems(d, by_name[name])]
    assert problems == [], "\n".join(problems[:20])

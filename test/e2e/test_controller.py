"""foo-controller-manager end to end: the real manager against a real foo-apiserver --standalone.

Each test starts its server (conftest's `server` fixture) and one or two managers with the
server's kubeconfig and free ports for /metrics and the probes, then drives Foos with kubectl,
raw requests and /usr/bin/python3's kubernetes client (docs/controller.md, docs/controller-
manager.md). Every wait is on a condition with a deadline, never a fixed sleep.

Every test runs once per watch transport (`--watch-transport http` and `websocket`, the
`watch_transport` parameter): the manager's informers must behave the same over both.
"""

import http.client
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from conftest import (API_VERSION, BASE, FOOS, SANITIZER_MARKERS, _die_with_parent, build_dir,
                      foo_manifest, free_port, ok, wait_until)

APPS = "/apis/apps/v1"
FINALIZER = "demo.example.com/cleanup"
SELECTOR_LABEL = "demo.example.com/foo"
RESTART_ANNOTATION = "demo.example.com/restartedAt"
LEASE = "/apis/coordination.k8s.io/v1/namespaces/default/leases/foo-controller-manager"

START_TIMEOUT_S = 30.0
CONVERGE_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 45.0  # the manager's own shutdown budget is 30 s
# Lease 15 s, retry 2 s plus up to 1.2 x jitter: a takeover comes within about 20 s.
TAKEOVER_TIMEOUT_S = 40.0


def deployment_path(name, namespace="default"):
    return f"{APPS}/namespaces/{namespace}/deployments/{name}"


# --------------------------------------------------------------------------------------------
# The manager process


class Manager:
    """One foo-controller-manager process against a Server."""

    def __init__(self, server, logdir, name, args):
        self.server = server
        self.metrics_port = free_port()
        self.probe_port = free_port()
        self.binary = build_dir() / "foo-controller-manager"
        self.log_path = Path(logdir) / f"{name}.manager.{self.metrics_port}.log"
        self.cmd = [
            str(self.binary),
            "--kubeconfig", str(server.kubeconfig),
            "--metrics-bind-address", f"127.0.0.1:{self.metrics_port}",
            "--health-probe-bind-address", f"127.0.0.1:{self.probe_port}",
            "-v", "2",
        ] + list(args)
        self.proc = None
        self._log = None

    def start(self):
        if not self.binary.exists():
            pytest.fail(f"{self.binary} does not exist (build it, or set FOO_BUILD)")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self._log.write(("# " + " ".join(self.cmd) + "\n").encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, preexec_fn=_die_with_parent)

        def up():
            if self.proc.poll() is not None:
                pytest.fail(f"foo-controller-manager exited with {self.proc.returncode}:\n"
                            + self.tail())
            try:
                return self.get("/healthz", probe=True)[0] == 200
            except OSError:
                return False

        wait_until(up, START_TIMEOUT_S, "the manager's /healthz")
        return self

    # ---- HTTP

    def get(self, path, probe=False):
        """(status, body text) of GET path on the probe or metrics server."""
        port = self.probe_port if probe else self.metrics_port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200, body
        return body

    def metric(self, family, /, **labels):
        """The value of one series of family with these labels (0 when absent)."""
        want = {k: str(v) for k, v in labels.items()}
        for line in self.metrics().splitlines():
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
            if not m or m.group(1) != family:
                continue
            got = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            if all(got.get(k) == v for k, v in want.items()):
                return float(m.group(4))
        return 0.0

    def reconciles(self):
        """Reconciles of the Foo controller so far, every result."""
        return sum(self.metric("controller_runtime_reconcile_total", controller="foo", result=r)
                   for r in ("success", "error", "requeue", "requeue_after"))

    # ---- process

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, expect=0, timeout=STOP_TIMEOUT_S):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"foo-controller-manager did not exit within {timeout}s:\n" + self.tail())
        finally:
            if self._log:
                self._log.close()
                self._log = None
        assert self.sanitizer_report() is None, self.sanitizer_report()
        assert rc == expect, f"exit code {rc}, expected {expect}:\n{self.tail()}"

    def stop(self):
        self.signal(signal.SIGTERM)
        self.wait_exit(0)

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_lines(self):
        """The JSON lines of the log, parsed."""
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def sanitizer_report(self):
        text = self.log_text()
        for m in SANITIZER_MARKERS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 2000):i + 6000]
        return None

    def tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])


@pytest.fixture(params=["http", "websocket"])
def watch_transport(request):
    """The manager's --watch-transport; make_manager passes it to every manager of the test."""
    return request.param


# Every test of this module, once per transport (other modules that import make_manager keep
# the default, http).
pytestmark = pytest.mark.usefixtures("watch_transport")


def _watch_transport_of(request):
    spec = getattr(request.node, "callspec", None)
    return spec.params.get("watch_transport", "http") if spec else "http"


@pytest.fixture
def make_manager(request, tmp_path):
    """Factory: make_manager(server, *args) starts a manager; all are stopped (SIGTERM, exit 0
    expected) and checked for sanitizer reports at teardown."""
    managers = []
    logdir = Path(os.environ.get("FOO_E2E_LOGDIR", tmp_path / "logs"))
    failed_before = request.session.testsfailed

    transport = ["--watch-transport", _watch_transport_of(request)]

    def make(server, *args):
        m = Manager(server, logdir, re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name),
                    (*transport, *args))
        managers.append(m)
        return m.start()

    yield make
    if request.session.testsfailed > failed_before:  # shown with the failure report
        for m in managers:
            print(f"---- foo-controller-manager log tail ({m.log_path})\n{m.tail()}")
    errors = []
    for m in managers:
        try:
            if m.running():
                m.signal(signal.SIGCONT)  # a test may have left it stopped
                m.stop()
            report = m.sanitizer_report()
            assert report is None, f"sanitizer report in {m.log_path}:\n{report}"
        except BaseException as e:
            errors.append(f"{m.log_path}: {e}")
    if errors:
        pytest.fail("\n".join(errors))


# --------------------------------------------------------------------------------------------
# Helpers


def get_or_none(server, path):
    r = server.request("GET", path)
    if r.status == 404:
        return None
    assert r.status == 200, r
    return r.json()


def wait_deployment(server, name, cond=lambda d: True, what="the Deployment",
                    timeout=CONVERGE_TIMEOUT_S, namespace="default"):
    def check():
        d = get_or_none(server, deployment_path(name, namespace))
        return d if d is not None and cond(d) else None
    return wait_until(check, timeout, what)


def wait_foo(server, name, cond, what, timeout=CONVERGE_TIMEOUT_S):
    def check():
        f = get_or_none(server, f"{FOOS}/{name}")
        return f if f is not None and cond(f) else None
    return wait_until(check, timeout, what)


def ready_condition(foo):
    for c in foo.get("status", {}).get("conditions", []):
        if c.get("type") == "Ready":
            return c
    return None


def ready_is(foo, status, reason=None):
    c = ready_condition(foo)
    return c is not None and c["status"] == status and (reason is None or c["reason"] == reason)


def container(d, name="app"):
    for c in d["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return c
    return None


def merge_patch(server, path, patch):
    r = server.request("PATCH", path, json.dumps(patch),
                       headers={"Content-Type": "application/merge-patch+json"})
    assert r.status == 200, r
    return r.json()


def mark_rolled_out(server, name, replicas):
    """Plays the cluster: the Deployment's status as once its pods are all ready."""
    d = get_or_none(server, deployment_path(name))
    return merge_patch(server, deployment_path(name) + "/status", {"status": {
        "observedGeneration": d["metadata"]["generation"], "replicas": replicas,
        "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}})


def events_about(server, name):
    r = server.get_json("/api/v1/namespaces/default/events")
    return [e for e in r["items"] if e["involvedObject"].get("name") == name]


def lease_holder(server):
    lease = get_or_none(server, LEASE)
    return None if lease is None else lease["spec"].get("holderIdentity")


# --------------------------------------------------------------------------------------------
# The Foo controller's behaviour


def test_a_new_foo_yields_the_deployment_of_the_design_and_carries_the_finalizer(
        server, make_manager):
    make_manager(server)
    foo = server.create_foo("web", replicas=2, image="nginx:1.25")
    d = wait_deployment(server, "web")

    # Every field docs/design.md §2 fixes, read back through the typed Python client.
    api = k8s_config.new_client_from_config(config_file=str(server.kubeconfig))
    typed = k8s.AppsV1Api(api).read_namespaced_deployment("web", "default")
    assert isinstance(typed, k8s.V1Deployment)
    assert typed.metadata.name == "web" and typed.metadata.namespace == "default"
    assert typed.metadata.labels == {
        "app.kubernetes.io/name": "foo",
        "app.kubernetes.io/instance": "web",
        "app.kubernetes.io/managed-by": "foo-controller-manager",
    }
    [ref] = typed.metadata.owner_references
    assert (ref.api_version, ref.kind, ref.name, ref.uid) == (
        API_VERSION, "Foo", "web", foo["metadata"]["uid"])
    assert ref.controller is True and ref.block_owner_deletion is True
    assert typed.spec.replicas == 2
    assert typed.spec.selector.match_labels == {SELECTOR_LABEL: "web"}
    assert typed.spec.template.metadata.labels == {SELECTOR_LABEL: "web"}
    assert not (typed.spec.template.metadata.annotations or {}).get(RESTART_ANNOTATION)
    [c] = typed.spec.template.spec.containers
    assert (c.name, c.image) == ("app", "nginx:1.25")
    assert d["metadata"]["uid"] == typed.metadata.uid

    foo = wait_foo(server, "web", lambda f: FINALIZER in f["metadata"].get("finalizers", []),
                   "the finalizer on the Foo")
    foo = wait_foo(server, "web", lambda f: ready_is(f, "False", "Progressing"),
                   "Ready=False Progressing while no pod runs")
    st = foo["status"]
    assert st["observedGeneration"] == foo["metadata"]["generation"]
    assert st["selector"] == f"{SELECTOR_LABEL}=web"
    events = events_about(server, "web")
    assert any(e["reason"] == "SuccessfulCreate" and e["type"] == "Normal" for e in events), events


def test_replicas_image_kubectl_scale_and_bar_each_update_the_deployment(
        server, make_manager, tmp_path):
    make_manager(server)
    server.create_foo("web", replicas=1)
    wait_deployment(server, "web")

    server.merge_patch("web", {"spec": {"replicas": 3}})
    wait_deployment(server, "web", lambda d: d["spec"]["replicas"] == 3, "replicas 3")

    server.merge_patch("web", {"spec": {"image": "nginx:1.26"}})
    wait_deployment(server, "web", lambda d: container(d)["image"] == "nginx:1.26", "image 1.26")

    ok(server.kubectl("scale", "foo", "web", "--replicas=5"))
    wait_deployment(server, "web", lambda d: d["spec"]["replicas"] == 5, "replicas 5 (scale)")

    bar = tmp_path / "bar.json"
    bar.write_text(json.dumps({"apiVersion": API_VERSION, "kind": "FooBar"}))
    ok(server.kubectl("create", "--raw", f"{BASE}/foos/web/bar", "-f", str(bar)))
    restarted = server.get_foo("web")["spec"]["restartedAt"]
    assert restarted
    wait_deployment(
        server, "web",
        lambda d: (d["spec"]["template"]["metadata"].get("annotations") or {}).get(
            RESTART_ANNOTATION) == restarted,
        "the restart annotation")


def test_a_hand_edit_of_the_deployment_is_reverted(server, make_manager):
    make_manager(server)
    server.create_foo("web", replicas=2, image="nginx:1.27")
    wait_deployment(server, "web")

    ok(server.kubectl("scale", "deployment", "web", "--replicas=7"))
    ok(server.kubectl("set", "image", "deployment/web", "app=busybox:1"))
    ok(server.kubectl("label", "deployment", "web", "team=a"))
    d = wait_deployment(
        server, "web",
        lambda d: d["spec"]["replicas"] == 2 and container(d)["image"] == "nginx:1.27"
        and d["metadata"]["labels"].get("team") == "a",
        "replicas and image reverted, the added label kept")
    assert d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "foo-controller-manager"


def test_the_deployment_status_shows_in_the_foo_status_and_ready(server, make_manager):
    make_manager(server)
    server.create_foo("web", replicas=2)
    wait_deployment(server, "web")
    wait_foo(server, "web", lambda f: ready_is(f, "False", "Progressing"), "Progressing")

    mark_rolled_out(server, "web", 2)
    foo = wait_foo(server, "web", lambda f: ready_is(f, "True", "Available"), "Ready=True")
    assert foo["status"]["replicas"] == 2
    assert foo["status"]["availableReplicas"] == 2
    assert ready_condition(foo)["observedGeneration"] == foo["metadata"]["generation"]
    ok(server.kubectl("wait", "--for=condition=Ready", "foo/web", "--timeout=30s"))


def test_a_foreign_deployment_of_the_same_name_is_untouched_and_reported(server, make_manager):
    theirs = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "taken", "namespace": "default", "labels": {"owner": "someone"}},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "theirs"}},
                 "template": {"metadata": {"labels": {"app": "theirs"}},
                              "spec": {"containers": [{"name": "c", "image": "redis:7"}]}}},
    }
    r = server.request("POST", f"{APPS}/namespaces/default/deployments", theirs)
    assert r.status == 201, r
    before = r.json()

    make_manager(server)
    server.create_foo("taken")
    foo = wait_foo(server, "taken", lambda f: ready_is(f, "False", "ResourceExists"),
                   "Ready=False ResourceExists")
    assert "taken" in ready_condition(foo)["message"]
    wait_until(lambda: [e for e in events_about(server, "taken")
                        if e["type"] == "Warning" and e["reason"] == "ResourceExists"],
               CONVERGE_TIMEOUT_S, "a Warning ResourceExists event on the Foo")
    after = get_or_none(server, deployment_path("taken"))
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "ownerReferences" not in after["metadata"]
    assert after["spec"]["replicas"] == 4


def test_deleting_the_foo_deletes_its_deployment_then_the_foo_is_gone(server, make_manager):
    make_manager(server)
    server.create_foo("web")
    wait_deployment(server, "web")
    wait_foo(server, "web", lambda f: FINALIZER in f["metadata"].get("finalizers", []),
             "the finalizer")

    ok(server.kubectl("delete", "foo", "web", "--wait=false"))
    # The finalizer holds the Foo until its Deployment is deleted: once the Foo is gone, the
    # Deployment must be gone already.
    wait_until(lambda: get_or_none(server, f"{FOOS}/web") is None, CONVERGE_TIMEOUT_S,
               "the Foo to be gone")
    assert get_or_none(server, deployment_path("web")) is None
    assert any(e["reason"] == "SuccessfulDelete" for e in events_about(server, "web"))


# --------------------------------------------------------------------------------------------
# The simulator, metrics and probes


def test_with_simulated_deployments_kubectl_wait_for_ready_succeeds(server, make_manager):
    make_manager(server, "--simulate-deployments")
    server.create_foo("sim", replicas=3)
    ok(server.kubectl("wait", "--for=condition=Ready", "foo/sim", "--timeout=60s"))
    ok(server.kubectl("rollout", "status", "deployment/sim", "--timeout=30s"))
    d = get_or_none(server, deployment_path("sim"))
    st = d["status"]
    assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"],
            st["availableReplicas"]) == (3, 3, 3, 3)
    conds = {c["type"]: c for c in st["conditions"]}
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"

    # A new generation is simulated again, and the Foo follows.
    server.merge_patch("sim", {"spec": {"replicas": 1}})
    wait_foo(server, "sim", lambda f: f["status"].get("availableReplicas") == 1
             and ready_is(f, "True", "Available"), "Ready again with 1 replica")


def test_metrics_pass_promtool_with_controller_runtime_names_and_readyz_turns_ready(
        server, make_manager, watch_transport):
    m = make_manager(server, "--simulate-deployments")
    wait_until(lambda: m.get("/readyz", probe=True)[0] == 200, START_TIMEOUT_S, "/readyz 200")
    status, body = m.get("/healthz", probe=True)
    assert (status, body) == (200, "ok")
    assert m.get("/nope", probe=True)[0] == 404

    server.create_foo("web")
    wait_until(lambda: m.metric("controller_runtime_reconcile_total", controller="foo",
                                result="success") >= 1, CONVERGE_TIMEOUT_S, "a reconcile")
    text = m.metrics()
    for name in ("controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total",
                 "controller_runtime_reconcile_time_seconds_bucket",
                 "controller_runtime_active_workers",
                 "controller_runtime_max_concurrent_reconciles", "workqueue_depth",
                 "workqueue_adds_total", "workqueue_queue_duration_seconds_bucket",
                 "workqueue_work_duration_seconds_bucket", "workqueue_retries_total",
                 "workqueue_unfinished_work_seconds",
                 "workqueue_longest_running_processor_seconds", "rest_client_requests_total"):
        assert re.search(rf"^{name}[{{ ]", text, re.M), f"{name} missing:\n{text}"
    assert 'controller="deployment-simulator"' in text
    assert m.metric("rest_client_requests_total", code="201", method="POST") >= 1
    # A watch counts once its answer's head has come: 200 over HTTP, 101 once upgraded.
    watch_code = "101" if watch_transport == "websocket" else "200"
    assert m.metric("rest_client_requests_total", code=watch_code, method="GET") >= 2
    if watch_transport == "websocket":
        assert m.metric("rest_client_requests_total", code="0") == 0, "no watch failed"
    check = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_json_logs_carry_controller_object_and_reconcile_id(server, make_manager):
    m = make_manager(server)
    server.create_foo("web")
    wait_deployment(server, "web")
    wait_until(lambda: [line for line in m.log_lines() if line.get("msg") == "created Deployment"],
               CONVERGE_TIMEOUT_S, "the log line of the create")
    line = next(x for x in m.log_lines() if x.get("msg") == "created Deployment")
    assert line["controller"] == "foo" and line["object"] == "web"
    assert re.fullmatch(r"[0-9a-f-]{36}", line["reconcileID"])
    assert {"ts", "level", "msg"} <= set(line)


# --------------------------------------------------------------------------------------------
# Shutdown and leader election


def test_sigterm_exits_zero_and_releases_the_lease(server, make_manager):
    m = make_manager(server, "--leader-elect")
    holder = wait_until(lambda: lease_holder(server), START_TIMEOUT_S, "a lease holder")
    assert holder.startswith(os.uname().nodename + "_")
    server.create_foo("web")
    wait_deployment(server, "web")

    m.signal(signal.SIGTERM)
    m.wait_exit(0)
    lease = get_or_none(server, LEASE)
    assert lease["spec"]["holderIdentity"] == "", lease
    assert lease["spec"]["leaseDurationSeconds"] == 1


def test_two_managers_one_leader_and_a_frozen_leader_writes_nothing_after_takeover(
        server, make_manager):
    a = make_manager(server, "--leader-elect")
    b = make_manager(server, "--leader-elect")
    holder = wait_until(lambda: lease_holder(server), START_TIMEOUT_S, "a lease holder")
    leader, other = (a, b) if holder in a.log_text() else (b, a)
    assert holder in leader.log_text() and holder not in other.log_text()

    # Exactly one reconciles.
    server.create_foo("one")
    wait_deployment(server, "one")
    wait_until(lambda: leader.reconciles() >= 1, CONVERGE_TIMEOUT_S, "the leader's reconciles")
    assert other.reconciles() == 0
    assert leader.metric("leader_election_master_status", name="foo-controller-manager") == 1
    assert other.metric("leader_election_master_status", name="foo-controller-manager") == 0

    # Freeze the leader past the lease duration: the other takes over and reconciles.
    leader.signal(signal.SIGSTOP)
    def taken_over():
        h = lease_holder(server)
        return h if h and h != holder else None

    new_holder = wait_until(taken_over, TAKEOVER_TIMEOUT_S, "the takeover")
    assert new_holder in other.log_text()
    server.merge_patch("one", {"spec": {"replicas": 3}})
    server.create_foo("two")
    wait_deployment(server, "one", lambda d: d["spec"]["replicas"] == 3, "replicas 3 (new leader)")
    wait_deployment(server, "two")
    lines_before = len(leader.log_lines())

    # Woken, the old leader finds itself fenced, writes nothing, and exits as controller-runtime
    # does when it loses the lease.
    leader.signal(signal.SIGCONT)
    leader.wait_exit(expect=1)
    after = leader.log_lines()[lines_before:]
    writes = [x for x in after if x.get("msg") in (
        "created Deployment", "updated drifted Deployment", "deleted Deployment")]
    assert writes == [], writes
    assert any(x.get("msg") == "leader election lost" for x in after), after
    assert lease_holder(server) == new_holder
    # The new leader's Deployments stand as it wrote them.
    assert get_or_none(server, deployment_path("one"))["spec"]["replicas"] == 3

"""The built-in kinds of --standalone (issue 7): apps/v1 deployments, v1 events and namespaces,
coordination.k8s.io/v1 leases, driven with kubectl and python3-kubernetes as a user would.

docs/design.md §4.9 and the README's "Built-in kinds" say what they do; these tests hold the
server to it.
"""
import json
import textwrap

import pytest
from kubernetes import client, config

from conftest import FOOS, WatchStream, ok

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
EVENTS = "/api/v1/namespaces/default/events"
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}


def deployment_yaml(image_a, extra_env=""):
    """A two-container Deployment; container a's image is the parameter."""
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: two
        spec:
          replicas: 2
          selector:
            matchLabels: {{app: two}}
          template:
            metadata:
              labels: {{app: two}}
            spec:
              containers:
              - name: a
                image: {image_a}
                env:
                - {{name: MODE, value: fast}}{extra_env}
                ports:
                - {{containerPort: 80}}
              - name: b
                image: busybox:1.36
                args: ["sleep", "3600"]
        """)


def lines(cp):
    return [line.split() for line in ok(cp).strip().splitlines()]


def test_get_ns_lists_the_system_namespaces_and_create_ns_works(server, kver):
    names = {row[0] for row in lines(server.kubectl("get", "ns", "--no-headers", version=kver))}
    assert SYSTEM_NAMESPACES <= names
    ok(server.kubectl("create", "ns", "team-a", version=kver))
    rows = lines(server.kubectl("get", "ns", "team-a", version=kver))
    assert rows[0] == ["NAME", "STATUS", "AGE"]
    assert rows[1][:2] == ["team-a", "Active"]
    ns = server.get_json("/api/v1/namespaces/team-a")
    assert ns["status"]["phase"] == "Active"
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team-a"


def test_write_into_a_missing_namespace_is_404_and_stores_nothing(server):
    r = server.request("POST", "/apis/apps/v1/namespaces/nope/deployments",
                       json.dumps(minimal_deployment("web")))
    assert r.status == 404, r
    assert r.json()["message"] == 'namespaces "nope" not found'
    assert server.get_json("/apis/apps/v1/deployments")["items"] == []


def test_namespace_holding_objects_cannot_be_deleted_and_system_ones_never(server):
    ok(server.kubectl("create", "ns", "team-b"))
    ok(server.kubectl("create", "deployment", "web", "--image=nginx", "-n", "team-b"))
    r = server.request("DELETE", "/api/v1/namespaces/team-b")
    assert r.status == 409, r
    assert r.json()["message"].startswith(
        'namespace "team-b" still holds 1 object (deployments.apps: 1): delete them first')
    assert server.request("GET", "/api/v1/namespaces/team-b").status == 200
    ok(server.kubectl("delete", "deployment", "web", "-n", "team-b"))
    ok(server.kubectl("delete", "ns", "team-b"))
    assert server.request("GET", "/api/v1/namespaces/team-b").status == 404
    r = server.request("DELETE", "/api/v1/namespaces/default")
    assert r.status == 403, r
    assert server.request("GET", "/api/v1/namespaces/default").status == 200
    r = server.request("DELETE", "/api/v1/namespaces")  # no deletecollection for namespaces
    assert r.status == 405, r
    assert SYSTEM_NAMESPACES <= {n["metadata"]["name"] for n in
                                 server.get_json("/api/v1/namespaces")["items"]}


def minimal_deployment(name, image="nginx"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def test_create_deployment_applies_kube_defaults(server, kver):
    ok(server.kubectl("create", "deployment", "web", "--image=nginx", version=kver))
    d = server.get_json(f"{DEPLOYS}/web")
    assert d["metadata"]["generation"] == 1 and d["metadata"]["uid"]
    assert d["metadata"]["creationTimestamp"]
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always"
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert pod["schedulerName"] == "default-scheduler"
    c = pod["containers"][0]
    assert c["image"] == "nginx"
    assert c["imagePullPolicy"] == "Always"  # no tag: as kube's "latest" rule
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"


def test_selector_that_does_not_match_template_labels_is_422(server):
    body = minimal_deployment("bad")
    body["spec"]["selector"]["matchLabels"] = {"app": "other"}
    r = server.request("POST", DEPLOYS, json.dumps(body))
    assert r.status == 422, r
    status = r.json()
    assert status["reason"] == "Invalid"
    assert "`selector` does not match template `labels`" in status["message"]
    assert server.request("GET", f"{DEPLOYS}/bad").status == 404


def test_scale_and_set_image_update_the_deployment(server, kver):
    ok(server.kubectl("create", "deployment", "web", "--image=nginx", version=kver))
    ok(server.kubectl("scale", "deploy", "web", "--replicas=3", version=kver))
    d = server.get_json(f"{DEPLOYS}/web")
    assert d["spec"]["replicas"] == 3
    assert d["metadata"]["generation"] == 2
    ok(server.kubectl("set", "image", "deploy/web", "nginx=nginx:1.27", version=kver))
    d = server.get_json(f"{DEPLOYS}/web")
    c = d["spec"]["template"]["spec"]["containers"]
    assert [x["name"] for x in c] == ["nginx"] and c[0]["image"] == "nginx:1.27"
    assert c[0]["terminationMessagePath"] == "/dev/termination-log"  # kept: merged by name
    assert d["metadata"]["generation"] == 3
    scale = server.get_json(f"{DEPLOYS}/web/scale")
    assert scale["spec"]["replicas"] == 3
    assert scale["status"]["selector"] == "app=web"


def test_apply_twice_with_a_changed_image_keeps_the_other_container_fields(server, tmp_path, kver):
    f = tmp_path / "two.yaml"
    f.write_text(deployment_yaml("nginx:1.26"))
    ok(server.kubectl("apply", "-f", str(f), version=kver))
    # A field set by someone else since (as `kubectl edit` would): SMP keeps it, a merge patch
    # replacing the containers list would drop it.
    r = server.request("PATCH", f"{DEPLOYS}/two", json.dumps(
        {"spec": {"template": {"spec": {"containers": [
            {"name": "b", "workingDir": "/srv"}]}}}}),
        headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert r.status == 200, r
    f.write_text(deployment_yaml("nginx:1.27"))
    ok(server.kubectl("apply", "-f", str(f), version=kver))
    d = server.get_json(f"{DEPLOYS}/two")
    a, b = d["spec"]["template"]["spec"]["containers"]
    assert (a["name"], a["image"]) == ("a", "nginx:1.27")
    assert a["env"] == [{"name": "MODE", "value": "fast"}]
    assert a["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert (b["name"], b["image"], b["args"]) == ("b", "busybox:1.36", ["sleep", "3600"])
    assert b["workingDir"] == "/srv"
    assert d["spec"]["replicas"] == 2


def test_get_shows_each_kind_s_columns(server):
    ok(server.kubectl("create", "deployment", "web", "--image=nginx:1.27"))
    rows = lines(server.kubectl("get", "deploy"))
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[1][:4] == ["web", "0/1", "0", "0"]
    rows = lines(server.kubectl("get", "deploy", "-o", "wide"))
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES",
                       "SELECTOR"]
    assert rows[1][5:] == ["nginx", "nginx:1.27", "app=web"]
    rows = lines(server.kubectl("get", "all", "-n", "default"))
    assert rows[0][:2] == ["NAME", "READY"] and rows[1][0] in ("web", "deployment.apps/web"), rows


LEASE = """\
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: my-lease
spec:
  holderIdentity: me
  leaseDurationSeconds: 15
"""

EVENT = """\
apiVersion: v1
kind: Event
metadata:
  name: web.17d0e2a8c2f7a9b1
involvedObject:
  kind: Deployment
  name: web
  namespace: default
  apiVersion: apps/v1
reason: ScalingReplicaSet
message: Scaled up replica set web to 1
type: Normal
source:
  component: deployment-controller
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:00:00Z"
count: 1
"""


def test_create_lease_and_event_and_get_them_across_namespaces(server, kver):
    ok(server.kubectl("create", "-f", "-", input=LEASE, version=kver))
    ok(server.kubectl("create", "-f", "-", input=EVENT, version=kver))
    rows = lines(server.kubectl("get", "leases", version=kver))
    assert rows[0] == ["NAME", "HOLDER", "AGE"] and rows[1][:2] == ["my-lease", "me"]
    rows = lines(server.kubectl("get", "events", version=kver))
    assert rows[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert rows[1][1:4] == ["Normal", "ScalingReplicaSet", "deployment/web"]
    out = ok(server.kubectl("get", "deploy,events,leases", "-A", version=kver))
    assert "my-lease" in out and "ScalingReplicaSet" in out


@pytest.mark.parametrize("path,body", [
    (DEPLOYS, minimal_deployment("watched")),
    (LEASES, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
              "metadata": {"name": "watched"}}),
    (EVENTS, {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "watched"},
              "involvedObject": {"kind": "Foo", "name": "x"}, "reason": "R", "type": "Normal"}),
    ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": "watched"}}),
])
def test_watch_on_each_kind_sees_its_own_create(server, path, body):
    rv = server.get_json(path)["metadata"]["resourceVersion"]  # a revision this store still has
    w = WatchStream(server.connection(), f"{path}?watch=true&resourceVersion={rv}")
    assert w.status == 200
    r = server.request("POST", path, json.dumps(body))
    assert r.status == 201, r
    events = w.collect(lambda evs: any(e["object"]["metadata"]["name"] == "watched"
                                       for e in evs), timeout=10)
    w.close()
    ev = next(e for e in events if e["object"]["metadata"]["name"] == "watched")
    assert ev["type"] == "ADDED" and ev["object"]["kind"] == body["kind"]


def test_foo_watcher_receives_no_event_for_lease_renewals(server):
    """A controller renews its lease every 2 s; Foo watchers must not hear of it."""
    w = server.watch("allowWatchBookmarks=true")
    r = server.request("POST", LEASES, json.dumps(
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
         "spec": {"holderIdentity": "a"}}))
    assert r.status == 201, r
    for i in range(20):
        r = server.request("PATCH", f"{LEASES}/l", json.dumps({"spec": {"renewTime": None,
                                                                         "leaseDurationSeconds": i + 1}}),
                           headers={"Content-Type": "application/merge-patch+json"})
        assert r.status == 200, r
    server.create_foo("after-renewals")  # a marker: the Foo event arrives after the renewals
    events = w.collect(lambda evs: any(e["type"] == "ADDED" for e in evs), timeout=10)
    w.close()
    assert [e["type"] for e in events] == ["ADDED"], events
    assert events[0]["object"]["metadata"]["name"] == "after-renewals"
    # Its resourceVersion is the store's: after the 21 lease writes.
    lease_rv = int(server.get_json(f"{LEASES}/l")["metadata"]["resourceVersion"])
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > lease_rv


def test_python_client_reads_and_writes_the_builtin_kinds(server):
    api = config.new_client_from_config(config_file=str(server.kubeconfig))
    apps = client.AppsV1Api(api)
    core = client.CoreV1Api(api)
    coord = client.CoordinationV1Api(api)
    created = apps.create_namespaced_deployment("default", minimal_deployment("py-web"))
    assert isinstance(created, client.V1Deployment)
    assert created.spec.template.spec.containers[0].image_pull_policy == "Always"
    apps.patch_namespaced_deployment_scale("py-web", "default", {"spec": {"replicas": 4}})
    assert apps.read_namespaced_deployment("py-web", "default").spec.replicas == 4
    assert [d.metadata.name for d in apps.list_namespaced_deployment("default").items] == ["py-web"]
    core.create_namespaced_event("default", client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="py-ev"),
        involved_object=client.V1ObjectReference(kind="Deployment", name="py-web",
                                                 namespace="default"),
        reason="Test", message="hello", type="Normal"))
    evs = core.list_namespaced_event("default")
    assert [e.metadata.name for e in evs.items] == ["py-ev"]
    coord.create_namespaced_lease("default", client.V1Lease(
        metadata=client.V1ObjectMeta(name="py-lease"),
        spec=client.V1LeaseSpec(holder_identity="me", lease_duration_seconds=15)))
    lease = coord.read_namespaced_lease("py-lease", "default")
    assert lease.spec.holder_identity == "me"
    names = {n.metadata.name for n in core.list_namespace().items}
    assert SYSTEM_NAMESPACES <= names


def test_object_bodies_are_read_as_their_content_type_says(server):
    """YAML is read as YAML; a type the server does not read is 415 and stores nothing."""
    yaml_foo = "apiVersion: demo.example.com/v1beta1\nkind: Foo\nmetadata:\n  name: from-yaml\n"
    r = server.request("POST", FOOS, yaml_foo, headers={"Content-Type": "application/yaml"})
    assert r.status == 201, r
    assert r.json()["metadata"]["name"] == "from-yaml"
    body = json.dumps(minimal_deployment("plain"))
    r = server.request("POST", DEPLOYS, body, headers={"Content-Type": "text/plain"})
    assert r.status == 415, r
    assert r.json()["reason"] == "UnsupportedMediaType"
    assert r.json()["message"].endswith(
        "accepted media types include: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf")
    r = server.request("POST", FOOS, json.dumps({"apiVersion": "demo.example.com/v1beta1",
                                                "kind": "Foo", "metadata": {"name": "plain"}}),
                       headers={"Content-Type": "text/plain"})
    assert r.status == 415, r
    assert r.json()["message"].endswith("application/json, application/yaml")
    assert server.request("GET", f"{DEPLOYS}/plain").status == 404
    assert server.request("GET", f"{FOOS}/plain").status == 404

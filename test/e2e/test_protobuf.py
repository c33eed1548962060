"""Protobuf request bodies (docs/api.md §5.8): kubectl 1.32 and later send `kubectl create ns` and
`kubectl create deployment` as application/vnd.kubernetes.protobuf, and client-go does not fall
back to JSON when refused. The server reads them into exactly what the same command stores
through JSON (kubectl 1.31), refuses malformed bodies with 400 storing nothing, answers Foo (a
custom resource, JSON only in kube) with kube's 415, and reads updates, /status, /scale and
DeleteOptions the same way.
"""
import json

import pytest

from conftest import FOOS, assert_failure, ok

PROTOBUF = "application/vnd.kubernetes.protobuf"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
NAMESPACES = "/api/v1/namespaces"

# The kubectls that send protobuf: /usr/bin/kubectl (1.32) and kubectl.1.33.
PROTO_KUBECTLS = [None, "1.33"]

COMMANDS = [
    ("create", "ns", "team-p"),
    ("create", "deployment", "web", "--image=nginx", "--replicas=2", "--port=80"),
    ("create", "deployment", "two", "--image=nginx", "--image=busybox"),
    ("create", "deployment", "web", "--image=nginx:1.27", "-n", "team-p"),
]
OBJECTS = [
    f"{NAMESPACES}/team-p",
    f"{DEPLOYS}/web",
    f"{DEPLOYS}/two",
    "/apis/apps/v1/namespaces/team-p/deployments/web",
]


# ---- a small protobuf encoder (the wire format of kube's generated.proto) -------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def num(field, value):
    return varint(field << 3) + varint(value)


def msg(field, *parts):
    data = b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)
    return varint(field << 3 | 2) + varint(len(data)) + data


def body(api_version, kind, *raw):
    """A whole body: kube's magic and the runtime.Unknown envelope around the object's fields."""
    return b"k8s\x00" + msg(1, msg(1, api_version), msg(2, kind)) + msg(2, *raw)


def meta(name, namespace=None, resource_version=None, labels=()):
    parts = [msg(1, name)]
    if namespace:
        parts.append(msg(3, namespace))
    if resource_version:
        parts.append(msg(6, resource_version))
    parts += [msg(11, msg(1, k), msg(2, v)) for k, v in labels]
    return msg(1, *parts)


def deployment(name, replicas, image, resource_version=None):
    """apps/v1 Deployment with one container, as client-go encodes it."""
    entry = (msg(1, "app"), msg(2, name))
    container = msg(2, msg(1, "c"), msg(2, image))
    template = msg(3, msg(1, msg(11, *entry)), msg(2, container))
    spec = msg(2, num(1, replicas), msg(2, msg(1, *entry)), template)
    return body("apps/v1", "Deployment", meta(name, resource_version=resource_version), spec)


def post_proto(server, path, data, query=""):
    return server.request("POST", path + query, data,
                          headers={"Content-Type": PROTOBUF,
                                   "Accept": f"{PROTOBUF},application/json"})


def put_proto(server, path, data, query=""):
    return server.request("PUT", path + query, data,
                          headers={"Content-Type": PROTOBUF,
                                   "Accept": f"{PROTOBUF},application/json"})


# ---- kubectl ----------------------------------------------------------------------------------

def comparable(obj):
    """The object without what differs between two servers: uid, times, resourceVersion."""
    obj = json.loads(json.dumps(obj))
    for k in ("uid", "creationTimestamp", "resourceVersion"):
        obj["metadata"].pop(k, None)
    return obj


@pytest.mark.parametrize("kver", PROTO_KUBECTLS, ids=["kubectl1.32", "kubectl1.33"])
def test_kubectl_protobuf_writes_store_what_json_writes_store(make_server, kver):
    proto, json_srv = make_server(), make_server()
    for cmd in COMMANDS:
        cp = proto.kubectl(*cmd, "-v=8", version=kver)
        ok(cp)
        # The body really went as protobuf (kubectl -v=8 prints the request headers).
        assert f"Content-Type: {PROTOBUF}" in cp.stderr, cp.stderr[-3000:]
        ok(json_srv.kubectl(*cmd, version="1.31"))
    for path in OBJECTS:
        got, want = proto.get_json(path), json_srv.get_json(path)
        assert comparable(got) == comparable(want), path


@pytest.mark.parametrize("kver", PROTO_KUBECTLS, ids=["kubectl1.32", "kubectl1.33"])
def test_kubectl_protobuf_answers_errors_as_json(server, kver):
    ok(server.kubectl("create", "deployment", "web", "--image=nginx", version=kver))
    cp = server.kubectl("create", "deployment", "web", "--image=nginx", version=kver)
    assert cp.returncode != 0
    assert 'deployments.apps "web" already exists' in cp.stderr
    cp = server.kubectl("create", "deployment", "web", "--image=nginx", "-n", "nope",
                        version=kver)
    assert cp.returncode != 0
    assert 'namespaces "nope" not found' in cp.stderr


# ---- raw bodies -------------------------------------------------------------------------------

def test_malformed_protobuf_is_400_and_stores_nothing(server):
    cut = body("v1", "Namespace", meta("cut"))[:-3]
    r = post_proto(server, NAMESPACES, cut)
    st = assert_failure(r, 400, "BadRequest")
    assert "unexpected end of data" in st["message"], st
    r = post_proto(server, NAMESPACES, b'{"kind":"Namespace"}')
    st = assert_failure(r, 400, "BadRequest")
    assert st["message"] == ("provided data does not appear to be a protobuf message, expected "
                             "prefix [107 56 115 0]")
    bad = body("apps/v1", "Deployment", num(1, 5))  # metadata as a number
    st = assert_failure(post_proto(server, DEPLOYS, bad), 400, "BadRequest")
    assert st["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: '
                             "protobuf field 1 (metadata) of v1.Deployment at byte 0: wire "
                             "type 0, expected 2")
    names = {ns["metadata"]["name"] for ns in server.get_json(NAMESPACES)["items"]}
    assert "cut" not in names
    assert server.get_json(DEPLOYS)["items"] == []


def test_a_foo_in_protobuf_is_kubes_415(server):
    r = post_proto(server, FOOS, body("demo.example.com/v1beta1", "Foo", meta("f")))
    st = assert_failure(r, 415, "UnsupportedMediaType")
    assert st["message"] == ("the body of the request was in an unknown format - accepted media "
                             "types include: application/json, application/yaml")
    assert server.get_json(FOOS)["items"] == []


def test_fields_without_a_descriptor_are_415_send_json(server):
    managed = msg(1, msg(1, "n"), msg(17, msg(1, "kubectl")))
    st = assert_failure(post_proto(server, NAMESPACES, body("v1", "Namespace", managed)), 415,
                        "UnsupportedMediaType")
    assert st["message"] == "protobuf field 17 of v1.ObjectMeta is not supported: send JSON"
    st = assert_failure(post_proto(server, NAMESPACES, body("v1", "Pod", meta("p"))), 415,
                        "UnsupportedMediaType")
    assert st["message"] == "protobuf bodies of v1 Pod are not supported: send JSON"


def test_the_body_kind_must_be_the_resources(server):
    r = post_proto(server, NAMESPACES, deployment("web", 1, "nginx"))
    st = assert_failure(r, 400, "BadRequest")
    assert "does not match the expected" in st["message"], st


def test_repeated_fields_follow_field_validation(server):
    twice = body("v1", "Namespace", msg(1, msg(1, "first"), msg(1, "dup")))
    st = assert_failure(post_proto(server, NAMESPACES, twice, "?fieldValidation=Strict"), 400,
                        "BadRequest")
    assert st["message"] == ('Namespace in version "v1" cannot be handled as a Namespace: strict '
                             'decoding error: duplicate field "metadata.name"')
    r = post_proto(server, NAMESPACES, twice)
    assert r.status == 201, r
    assert r.json()["metadata"]["name"] == "dup"
    assert r.headers["Warning"] == '299 - "duplicate field \\"metadata.name\\""', r.headers


def test_update_status_scale_and_delete_in_protobuf(server):
    r = post_proto(server, DEPLOYS, deployment("web", 2, "nginx"))
    assert r.status == 201, r
    rv = r.json()["metadata"]["resourceVersion"]
    r = put_proto(server, f"{DEPLOYS}/web", deployment("web", 0, "nginx:1.27", rv))
    assert r.status == 200, r
    dep = server.get_json(f"{DEPLOYS}/web")
    assert dep["spec"]["replicas"] == 0  # a pointer field: 0 is not "unset" (default 1)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"

    status = msg(3, num(1, 3), num(2, 0), num(4, 0))  # observedGeneration 3, replicas 0
    r = put_proto(server, f"{DEPLOYS}/web/status",
                  body("apps/v1", "Deployment", meta("web"), status))
    assert r.status == 200, r
    assert server.get_json(f"{DEPLOYS}/web")["status"]["observedGeneration"] == 3

    scale = body("autoscaling/v1", "Scale", meta("web", "default"), msg(2, num(1, 4)))
    r = put_proto(server, f"{DEPLOYS}/web/scale", scale)
    assert r.status == 200, r
    assert server.get_json(f"{DEPLOYS}/web")["spec"]["replicas"] == 4

    opts = body("apps/v1", "DeleteOptions", msg(5, "All"))  # dryRun: [All]
    r = server.request("DELETE", f"{DEPLOYS}/web", opts, headers={"Content-Type": PROTOBUF})
    assert r.status == 200, r
    assert server.request("GET", f"{DEPLOYS}/web").status == 200  # a dry run kept it
    opts = body("apps/v1", "DeleteOptions", num(1, 0))  # gracePeriodSeconds: 0
    r = server.request("DELETE", f"{DEPLOYS}/web", opts, headers={"Content-Type": PROTOBUF})
    assert r.status == 200, r
    assert server.request("GET", f"{DEPLOYS}/web").status == 404


def test_a_lease_and_an_event_as_client_go_writes_them(server):
    renew = msg(4, num(1, 1764000010), num(2, 123456789))
    spec = msg(2, msg(1, "mgr-1"), num(2, 15), renew, num(5, 0))
    lease = body("coordination.k8s.io/v1", "Lease", meta("leader", "default"), spec)
    r = post_proto(server, "/apis/coordination.k8s.io/v1/namespaces/default/leases", lease)
    assert r.status == 201, r
    got = r.json()["spec"]
    assert got == {"holderIdentity": "mgr-1", "leaseDurationSeconds": 15,
                   "renewTime": "2025-11-24T16:00:10.123456Z", "leaseTransitions": 0}, got

    involved = msg(2, msg(1, "Deployment"), msg(2, "default"), msg(3, "web"))
    event = body("v1", "Event", meta("web.1", "default"), involved, msg(3, "Scaled"),
                 msg(4, "up"), msg(6, num(1, 1764000000)), num(8, 1), msg(9, "Normal"),
                 msg(10), msg(14, "deployment-controller"), msg(15, ""))
    r = post_proto(server, "/api/v1/namespaces/default/events", event)
    assert r.status == 201, r
    got = r.json()
    assert got["firstTimestamp"] == "2025-11-24T16:00:00Z", got
    assert got["eventTime"] is None, got
    assert (got["reportingComponent"], got["reportingInstance"]) == ("deployment-controller", "")

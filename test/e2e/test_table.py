"""Representations: Table (kubectl get columns), PartialObjectMetadata[List], and Accept
negotiation (docs/api.md §7.2, §7.3; checklist items 53, 57-60 of its §11).
"""

import re

from conftest import FOOS, assert_failure, ok

TABLE_V1 = "application/json;as=Table;v=v1;g=meta.k8s.io"
TABLE_V1BETA1 = "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
KUBECTL_GET_ACCEPT = f"{TABLE_V1},{TABLE_V1BETA1},application/json"
PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

# docs/design.md §2: the columns of `kubectl get foos`, then the two `-o wide` adds.
COLUMNS = [("Name", 0), ("Deployment", 0), ("Replicas", 0), ("Available", 0), ("Ready", 0),
           ("Age", 0), ("Namespace", 1), ("Image", 1)]
# kube's HumanDuration output (AM pkg/util/duration): 45s, 5m30s, 90m, 4h20m, 2d3h, 400d, 3y10d.
AGE_RE = r"\d+s|\d+m(\d+s)?|\d+h(\d+m)?|\d+d(\d+h)?|\d+y(\d+d)?"


def get(server, path, accept):
    return server.request("GET", path, headers={"Accept": accept})


def make_ready_foo(server, name, **spec):
    """A Foo whose status says 1 available replica and Ready=True (set through /status)."""
    server.create_foo(name, **spec)
    status = {"replicas": 1, "availableReplicas": 1,
              "conditions": [{"type": "Ready", "status": "True", "reason": "Available",
                              "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    r = server.merge_patch(name, {"status": status}, subresource="status")
    assert r.status == 200, r
    return r.json()


# Item 57.
def test_list_as_table_has_foo_columns_and_metadata_rows(server):
    make_ready_foo(server, "foo-a", replicas=1, image="nginx:1.28")
    last = server.create_foo("foo-b", deploymentName="dep-b", namespace="ns-b", replicas=3)
    r = get(server, FOOS, KUBECTL_GET_ACCEPT)
    assert r.status == 200, r
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    t = r.json()
    assert (t["kind"], t["apiVersion"]) == ("Table", "meta.k8s.io/v1"), t
    assert t["metadata"]["resourceVersion"] == last["metadata"]["resourceVersion"], t
    cols = t["columnDefinitions"]
    assert [(c["name"], c["priority"]) for c in cols] == COLUMNS, cols
    assert (cols[0]["type"], cols[0]["format"]) == ("string", "name"), cols[0]
    assert cols[5]["type"] == "date", cols[5]
    assert len(t["rows"]) == 2, t
    a, b = (row["cells"] for row in t["rows"])
    assert a[:5] == ["foo-a", "foo-a", 1, 1, "True"] and a[6:] == ["default", "nginx:1.28"], a
    assert b[:3] == ["foo-b", "dep-b", 3] and b[6:] == ["ns-b", "nginx:1.27"], b
    assert not b[3] and not b[4], b  # no status yet: nothing available, no Ready condition
    for cells in (a, b):
        assert re.fullmatch(AGE_RE, cells[5]), cells
    for row, name in zip(t["rows"], ("foo-a", "foo-b")):
        obj = row["object"]
        assert (obj["kind"], obj["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
        assert obj["metadata"]["name"] == name, obj
        assert "spec" not in obj, obj


# Item 57: includeObject=Object|None|other.
def test_table_include_object_embeds_omits_or_rejects(server):
    server.create_foo("foo-a", replicas=2)
    t = get(server, f"{FOOS}?includeObject=Object", KUBECTL_GET_ACCEPT).json()
    obj = t["rows"][0]["object"]
    assert (obj["kind"], obj["metadata"]["name"], obj["spec"]["replicas"]) == ("Foo", "foo-a", 2)
    t = get(server, f"{FOOS}?includeObject=None", KUBECTL_GET_ACCEPT).json()
    assert t["kind"] == "Table" and "object" not in t["rows"][0], t
    st = assert_failure(get(server, f"{FOOS}?includeObject=x", KUBECTL_GET_ACCEPT), 400,
                        "BadRequest")
    assert st["message"] == 'unrecognized includeObject value: "x"', st


# Item 58, and a single-object GET is a one-row Table.
def test_table_v1beta1_and_single_object_table(server):
    server.create_foo("foo-a")
    server.create_foo("foo-b")
    t = get(server, FOOS, TABLE_V1BETA1).json()
    assert (t["kind"], t["apiVersion"]) == ("Table", "meta.k8s.io/v1beta1"), t
    assert t["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1", t
    t = get(server, f"{FOOS}/foo-b", KUBECTL_GET_ACCEPT).json()
    assert (t["kind"], t["apiVersion"]) == ("Table", "meta.k8s.io/v1"), t
    assert [row["cells"][0] for row in t["rows"]] == ["foo-b"], t


# Item 59: kubectl get prints the server's columns.
def test_kubectl_get_prints_foo_columns(server, kver):
    make_ready_foo(server, "foo-a")
    server.create_foo("foo-b", replicas=2)
    out = ok(server.kubectl("get", "foos", version=kver))
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "DEPLOYMENT", "REPLICAS", "AVAILABLE", "READY", "AGE"]
    a, b = (line.split() for line in lines[1:])
    assert a[:5] == ["foo-a", "foo-a", "1", "1", "True"], out
    assert b[:3] == ["foo-b", "foo-b", "2"], out
    for row in (a, b):
        assert re.fullmatch(AGE_RE, row[-1]), out


# Item 59: -o wide adds Namespace and Image.
def test_kubectl_get_wide_adds_namespace_and_image(server, kver):
    make_ready_foo(server, "foo-a", namespace="web", image="nginx:1.28")
    out = ok(server.kubectl("get", "foo", "foo-a", "-o", "wide", version=kver))
    header, row = out.splitlines()
    assert header.split() == ["NAME", "DEPLOYMENT", "REPLICAS", "AVAILABLE", "READY", "AGE",
                              "NAMESPACE", "IMAGE"], out
    cells = row.split()
    assert cells[:5] == ["foo-a", "foo-a", "1", "1", "True"], out
    assert re.fullmatch(AGE_RE, cells[5]), out
    assert cells[6:] == ["web", "nginx:1.28"], out


# Item 59 (what kubectl get -w reads): a Table watch sends one-row Tables, column
# definitions only in the first event.
def test_table_watch_sends_one_row_tables_with_columns_once(server):
    server.create_foo("foo-a")
    w = server.watch(headers={"Accept": KUBECTL_GET_ACCEPT})
    assert w.status == 200
    server.create_foo("foo-b")
    events = w.collect(lambda evs: len(evs) >= 2)
    w.close()
    assert [e["type"] for e in events] == ["ADDED", "ADDED"], events
    first, second = (e["object"] for e in events)
    for t, name in ((first, "foo-a"), (second, "foo-b")):
        assert (t["kind"], t["apiVersion"]) == ("Table", "meta.k8s.io/v1"), t
        assert [row["cells"][0] for row in t["rows"]] == [name], t
    assert [c["name"] for c in first["columnDefinitions"]] == [c for c, _ in COLUMNS], first
    assert not second.get("columnDefinitions"), second


# Item 60: PartialObjectMetadataList, PartialObjectMetadata, and the watch form.
def test_partial_object_metadata_for_list_get_and_watch(server):
    foo = server.create_foo("foo-a")
    r = get(server, FOOS, PARTIAL_LIST)
    assert r.status == 200, r
    lst = r.json()
    assert (lst["kind"], lst["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert lst["metadata"]["resourceVersion"] == foo["metadata"]["resourceVersion"], lst
    assert [i["kind"] for i in lst["items"]] == ["PartialObjectMetadata"], lst
    assert lst["items"][0]["metadata"] == foo["metadata"], lst
    assert "spec" not in lst["items"][0], lst

    obj = get(server, f"{FOOS}/foo-a", PARTIAL).json()
    assert (obj["kind"], obj["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1"), obj
    assert obj["metadata"] == foo["metadata"] and "spec" not in obj, obj

    # The Accept of kube-controller-manager's metadata informers (garbage collector).
    gc_accept = (f"application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;"
                 f"g=meta.k8s.io;v=v1,{PARTIAL},application/json")
    w = server.watch(headers={"Accept": gc_accept})
    assert w.status == 200
    assert server.merge_patch("foo-a", {"metadata": {"labels": {"x": "y"}}}).status == 200
    events = w.collect(lambda evs: len(evs) >= 2)
    w.close()
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED"], events
    for e in events:
        assert e["object"]["kind"] == "PartialObjectMetadata", e
        assert "spec" not in e["object"], e
    assert events[1]["object"]["metadata"]["labels"] == {"x": "y"}, events


# Item 60: a transform of the wrong shape is 406.
def test_partial_object_metadata_of_wrong_shape_is_406(server):
    server.create_foo("foo-a")
    assert_failure(get(server, FOOS, PARTIAL), 406, "NotAcceptable")
    assert_failure(get(server, f"{FOOS}/foo-a", PARTIAL_LIST), 406, "NotAcceptable")


# Item 53.
def test_protobuf_only_accept_is_406_and_with_wildcard_is_json(server):
    server.create_foo("foo-a")
    st = assert_failure(get(server, FOOS, "application/vnd.kubernetes.protobuf"), 406,
                        "NotAcceptable")
    assert st["message"].startswith("only the following media types are accepted: "), st
    assert "application/json" in st["message"], st
    for path in (FOOS, f"{FOOS}/foo-a"):
        r = get(server, path, "application/vnd.kubernetes.protobuf, */*")
        assert r.status == 200, r
        assert r.headers["Content-Type"].split(";")[0] == "application/json", r.headers
        assert r.json()["kind"] in ("FooList", "Foo"), r

"""The scale subresource (autoscaling/v1 Scale, kubectl scale, the HPA's namespaced path) and the
bar subresource's error cases (docs/api.md §8.2, §8.3; checklist items 61-65 of its §11).
"""

import json

from conftest import API_VERSION, BASE, FOOS, GROUP, assert_failure, ok

CONFLICT_SUFFIX = ("the object has been modified; please apply your changes to the latest "
                   "version and try again")


def scale_path(name, namespace=None):
    ns = f"/namespaces/{namespace}" if namespace else ""
    return f"{BASE}{ns}/foos/{name}/scale"


def create_with_status(server, name, replicas, status_replicas, selector):
    server.create_foo(name, replicas=replicas)
    r = server.merge_patch(name, {"status": {"replicas": status_replicas, "selector": selector}},
                           subresource="status")
    assert r.status == 200, r
    return r.json()


# Item 61.
def test_get_scale_maps_the_foo(server):
    foo = create_with_status(server, "foo-a", 3, 2, "demo.example.com/foo=foo-a")
    r = server.request("GET", scale_path("foo-a"))
    assert r.status == 200, r
    s = r.json()
    assert (s["kind"], s["apiVersion"]) == ("Scale", "autoscaling/v1"), s
    meta = foo["metadata"]
    for k in ("name", "uid", "resourceVersion", "creationTimestamp"):
        assert s["metadata"][k] == meta[k], (k, s)
    assert s["spec"] == {"replicas": 3}, s
    assert s["status"] == {"replicas": 2, "selector": "demo.example.com/foo=foo-a"}, s
    assert_failure(server.request("GET", scale_path("nope")), 404, "NotFound")


# Item 62: kubectl scale is a merge patch on /scale.
def test_kubectl_scale_sets_replicas_and_bumps_generation(server, kver):
    server.create_foo("foo-a", replicas=1)
    out = ok(server.kubectl("scale", "foo/foo-a", "--replicas=5", version=kver))
    assert "foo-a scaled" in out, out
    foo = server.get_foo("foo-a")
    assert foo["spec"]["replicas"] == 5 and foo["metadata"]["generation"] == 2, foo
    # With --current-replicas kubectl GETs the Scale and PUTs it back with its resourceVersion.
    out = ok(server.kubectl("scale", "foo/foo-a", "--current-replicas=5", "--replicas=6",
                            version=kver))
    assert "foo-a scaled" in out, out
    foo = server.get_foo("foo-a")
    assert foo["spec"]["replicas"] == 6 and foo["metadata"]["generation"] == 3, foo


# Item 62: PUT of a Scale with a stale resourceVersion, or negative replicas, is rejected.
def test_put_scale_with_stale_rv_is_409_and_negative_replicas_is_422(server):
    server.create_foo("foo-a", replicas=1)
    scale = server.get_json(scale_path("foo-a"))
    assert server.merge_patch("foo-a", {"spec": {"image": "nginx:1.28"}}).status == 200
    scale["spec"]["replicas"] = 4
    st = assert_failure(server.request("PUT", scale_path("foo-a"), scale), 409, "Conflict")
    assert st["message"].endswith(CONFLICT_SUFFIX), st

    scale = server.get_json(scale_path("foo-a"))
    scale["spec"]["replicas"] = -1
    st = assert_failure(server.request("PUT", scale_path("foo-a"), scale), 422, "Invalid")
    assert (st["details"]["kind"], st["details"]["group"]) == ("Scale", "autoscaling"), st
    assert [c["field"] for c in st["details"]["causes"]] == ["spec.replicas"], st
    assert server.get_foo("foo-a")["spec"]["replicas"] == 1

    scale["spec"]["replicas"] = 4
    r = server.request("PUT", scale_path("foo-a"), scale)
    assert r.status == 200, r
    assert r.json()["kind"] == "Scale" and r.json()["spec"]["replicas"] == 4, r
    foo = server.get_foo("foo-a")
    assert foo["spec"]["replicas"] == 4 and foo["metadata"]["generation"] == 3, foo
    assert r.json()["metadata"]["resourceVersion"] == foo["metadata"]["resourceVersion"]


# Item 62: the other patch types work on /scale too.
def test_json_patch_on_scale(server):
    server.create_foo("foo-a", replicas=1)
    r = server.request("PATCH", scale_path("foo-a"),
                       json.dumps([{"op": "replace", "path": "/spec/replicas", "value": 2}]),
                       headers={"Content-Type": "application/json-patch+json"})
    assert r.status == 200, r
    assert r.json()["spec"]["replicas"] == 2, r
    assert server.get_foo("foo-a")["spec"]["replicas"] == 2


# Item 63: the HPA sends its Scale without Content-Type.
def test_put_scale_without_content_type_is_read_as_json(server):
    server.create_foo("foo-a", replicas=1)
    scale = server.get_json(scale_path("foo-a"))
    scale["spec"]["replicas"] = 3
    r = server.request("PUT", scale_path("foo-a"), json.dumps(scale),
                       headers={"Accept": "application/vnd.kubernetes.protobuf, */*"})
    assert r.status == 200, r
    assert r.json()["spec"]["replicas"] == 3, r
    assert server.get_foo("foo-a")["spec"]["replicas"] == 3


# Item 64: the HPA's namespaced alias path serves the same Scale, for reads and updates.
def test_namespaced_scale_alias_serves_the_same_scale(server):
    create_with_status(server, "foo-a", 2, 1, "demo.example.com/foo=foo-a")
    direct = server.get_json(scale_path("foo-a"))
    alias = server.get_json(scale_path("foo-a", namespace="default"))
    assert alias == direct, (alias, direct)
    alias["spec"]["replicas"] = 7
    r = server.request("PUT", scale_path("foo-a", namespace="hpa-ns"), json.dumps(alias))
    assert r.status == 200, r
    assert server.get_foo("foo-a")["spec"]["replicas"] == 7
    # Only scale has the alias: the namespaced path of the object itself does not exist.
    assert server.request("GET", f"{BASE}/namespaces/default/foos/foo-a").status == 404


# Item 65 (POST, GET and PUT on bar are in test_subresources.py): new resourceVersion,
# missing parent, mismatching name.
def test_bar_bumps_rv_and_rejects_missing_parent_and_other_name(server):
    foo = server.create_foo("foo-a")
    bar = {"apiVersion": API_VERSION, "kind": "FooBar"}
    r = server.request("POST", f"{FOOS}/foo-a/bar", bar)
    assert r.status == 201, r
    assert int(r.json()["metadata"]["resourceVersion"]) > int(foo["metadata"]["resourceVersion"])
    st = assert_failure(server.request("POST", f"{FOOS}/nope/bar", bar), 404, "NotFound")
    assert st["message"] == f'foos.{GROUP} "nope" not found', st
    other = dict(bar, metadata={"name": "foo-b"})
    assert_failure(server.request("POST", f"{FOOS}/foo-a/bar", other), 400, "BadRequest")

"""The status and bar subresources, driven by kubectl."""

import json
import re

from conftest import API_VERSION, BASE, SAMPLE, ok


def get_json(server, name, kver):
    return json.loads(ok(server.kubectl("get", "foo", name, "-o", "json", version=kver)))


def test_status_patch_changes_only_status_and_keeps_generation(server, kver):
    ok(server.kubectl("create", "-f", str(SAMPLE), version=kver))
    before = get_json(server, "foo-example", kver)
    ok(server.kubectl("patch", "foo", "foo-example", "--subresource=status", "--type=merge",
                      "-p", '{"status":{"replicas":3}}', version=kver))
    after = get_json(server, "foo-example", kver)
    assert after["status"]["replicas"] == 3
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] == 1
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    for k in ("uid", "creationTimestamp", "name"):
        assert after["metadata"][k] == before["metadata"][k]


def test_status_in_main_resource_patch_is_ignored(server):
    server.create_foo("foo-a")
    r = server.merge_patch("foo-a", {"status": {"replicas": 7}, "spec": {"replicas": 2}})
    assert r.status == 200, r
    foo = server.get_foo("foo-a")
    assert foo["spec"]["replicas"] == 2
    assert (foo.get("status") or {}).get("replicas") != 7


def test_bar_sets_restarted_at_and_bumps_generation(server, kver, tmp_path):
    ok(server.kubectl("create", "-f", str(SAMPLE), version=kver))
    before = get_json(server, "foo-example", kver)
    bar = tmp_path / "bar.json"
    bar.write_text(json.dumps({"apiVersion": API_VERSION, "kind": "FooBar"}))
    out = ok(server.kubectl("create", "--raw", f"{BASE}/foos/foo-example/bar", "-f", str(bar),
                            version=kver))
    returned = json.loads(out)
    assert returned["kind"] == "Foo" and returned["metadata"]["name"] == "foo-example"
    after = get_json(server, "foo-example", kver)
    assert returned["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]
    restarted = after["spec"].get("restartedAt", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", restarted), after["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert {k: v for k, v in after["spec"].items() if k != "restartedAt"} == {
        k: v for k, v in before["spec"].items() if k != "restartedAt"}


def test_bar_get_returns_foo_and_put_is_405(server):
    server.create_foo("foo-a")
    r = server.request("GET", f"{BASE}/foos/foo-a/bar")
    assert r.status == 200, r
    assert r.json()["kind"] == "Foo" and r.json()["metadata"]["name"] == "foo-a"
    r = server.request("PUT", f"{BASE}/foos/foo-a/bar", {"apiVersion": API_VERSION,
                                                          "kind": "FooBar"})
    assert r.status == 405, r

"""Rejected writes: 422 Invalid with one cause per field, AlreadyExists, Conflict."""

import json

import yaml

from conftest import FOOS, GROUP, SAMPLE, foo_manifest, ok

CONFLICT_SUFFIX = ("the object has been modified; please apply your changes to the latest "
                   "version and try again")


def assert_failure(r, code, reason):
    assert r.status == code, r
    st = r.json()
    assert (st["kind"], st["apiVersion"], st["status"]) == ("Status", "v1", "Failure"), st
    assert st["code"] == code, st
    assert st["reason"] == reason, st
    return st


def invalid_foo():
    return foo_manifest("bad", replicas=-1, image="nginx 1.27")


def test_invalid_foo_gets_422_with_one_cause_per_field(server):
    r = server.request("POST", FOOS, invalid_foo())
    st = assert_failure(r, 422, "Invalid")
    details = st["details"]
    assert (details["name"], details["group"], details["kind"]) == ("bad", GROUP, "Foo"), st
    causes = details["causes"]
    assert sorted(c["field"] for c in causes) == ["spec.image", "spec.replicas"], causes
    for c in causes:
        assert c.get("reason") and c.get("message"), c
    assert st["message"].startswith(f'Foo.{GROUP} "bad" is invalid: '), st
    assert server.request("GET", f"{FOOS}/bad").status == 404


def test_kubectl_create_of_invalid_foo_reports_both_fields(server, kver, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(invalid_foo()))
    cp = server.kubectl("create", "-f", str(f), version=kver)
    assert cp.returncode != 0, cp.stdout
    assert "is invalid" in cp.stderr, cp.stderr
    assert "spec.replicas" in cp.stderr and "spec.image" in cp.stderr, cp.stderr


def test_create_existing_name_gets_already_exists(server, kver):
    ok(server.kubectl("create", "-f", str(SAMPLE), version=kver))
    cp = server.kubectl("create", "-f", str(SAMPLE), version=kver)
    assert cp.returncode != 0, cp.stdout
    assert "(AlreadyExists)" in cp.stderr, cp.stderr

    r = server.request("POST", FOOS, foo_manifest("foo-example"))
    st = assert_failure(r, 409, "AlreadyExists")
    assert st["message"] == f'foos.{GROUP} "foo-example" already exists', st
    d = st["details"]
    assert (d["name"], d["group"], d["kind"]) == ("foo-example", GROUP, "foos"), st


def test_update_with_stale_resource_version_gets_conflict(server):
    foo = server.create_foo("foo-a")
    stale = json.loads(json.dumps(foo))
    foo["spec"]["replicas"] = 2
    r = server.request("PUT", f"{FOOS}/foo-a", foo)
    assert r.status == 200, r
    assert r.json()["metadata"]["resourceVersion"] != stale["metadata"]["resourceVersion"]

    stale["spec"]["replicas"] = 3
    r = server.request("PUT", f"{FOOS}/foo-a", stale)
    st = assert_failure(r, 409, "Conflict")
    assert st["message"] == (f'Operation cannot be fulfilled on foos.{GROUP} "foo-a": '
                             + CONFLICT_SUFFIX), st
    assert server.get_foo("foo-a")["spec"]["replicas"] == 2


def test_kubectl_replace_with_stale_resource_version_gets_conflict(server, kver, tmp_path):
    foo = server.create_foo("foo-a")
    stale = tmp_path / "stale.yaml"
    foo["spec"]["replicas"] = 3
    stale.write_text(yaml.safe_dump(foo))
    r = server.request("PUT", f"{FOOS}/foo-a", dict(foo, spec=dict(foo["spec"], replicas=2)))
    assert r.status == 200, r
    cp = server.kubectl("replace", "-f", str(stale), version=kver)
    assert cp.returncode != 0, cp.stdout
    assert "(Conflict)" in cp.stderr and CONFLICT_SUFFIX in cp.stderr, cp.stderr
    assert server.get_foo("foo-a")["spec"]["replicas"] == 2

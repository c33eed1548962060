"""The kubectl walkthrough of issue 2, with /usr/bin/kubectl (1.32) and kubectl.1.27."""

import re

import yaml

from conftest import API_VERSION, FOOS, SAMPLE, ok


def get_yaml(server, name, kver):
    return yaml.safe_load(ok(server.kubectl("get", "foo", name, "-o", "yaml", version=kver)))


def test_api_resources_lists_foos(server, kver):
    out = ok(server.kubectl("api-resources", version=kver))
    rows = [line.split() for line in out.splitlines()]
    assert rows[0][:2] == ["NAME", "SHORTNAMES"], out
    foos = [r for r in rows if r and r[0] == "foos"]
    assert foos == [["foos", "fo", API_VERSION, "false", "Foo"]], out


def test_create_sample_then_get_shows_server_fields_and_defaults(server, kver):
    out = ok(server.kubectl("create", "-f", str(SAMPLE), version=kver))
    assert "foo-example" in out and "created" in out, out

    listing = ok(server.kubectl("get", "foos", version=kver))
    assert re.search(r"^foo-example\s", listing, re.M), listing

    foo = get_yaml(server, "foo-example", kver)
    assert foo["apiVersion"] == API_VERSION and foo["kind"] == "Foo"
    meta = foo["metadata"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        meta["uid"]), meta
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"]), meta
    assert re.fullmatch(r"[1-9]\d*", meta["resourceVersion"]), meta
    assert meta["generation"] == 1
    assert "namespace" not in meta
    spec = dict(foo["spec"])
    assert not spec.pop("restartedAt", ""), spec  # absent or empty until bar sets it
    assert spec == {"deploymentName": "foo-example", "namespace": "default", "replicas": 1,
                    "image": "nginx:1.27"}


def test_apply_changed_file_bumps_generation_and_same_file_is_unchanged(server, kver, tmp_path):
    out = ok(server.kubectl("apply", "-f", str(SAMPLE), version=kver))
    assert re.search(r"foo-example created", out), out
    assert get_yaml(server, "foo-example", kver)["metadata"]["generation"] == 1

    doc = yaml.safe_load(SAMPLE.read_text())
    doc["spec"]["replicas"] = 2
    changed = tmp_path / "foo-changed.yaml"
    changed.write_text(yaml.safe_dump(doc))

    out = ok(server.kubectl("apply", "-f", str(changed), version=kver))
    assert re.search(r"foo-example configured", out), out
    foo = get_yaml(server, "foo-example", kver)
    assert foo["spec"]["replicas"] == 2
    assert foo["metadata"]["generation"] == 2
    rv = foo["metadata"]["resourceVersion"]

    out = ok(server.kubectl("apply", "-f", str(changed), version=kver))
    assert re.search(r"foo-example unchanged", out), out
    foo = get_yaml(server, "foo-example", kver)
    assert foo["metadata"]["generation"] == 2
    assert foo["metadata"]["resourceVersion"] == rv


def test_explain_spec_replicas_prints_description(server, kver):
    out = ok(server.kubectl("explain", "foos.spec.replicas", version=kver))
    assert re.search(r"^KIND:\s+Foo$", out, re.M), out
    assert re.search(r"^FIELD:\s+replicas\s+<integer>", out, re.M), out
    m = re.search(r"^DESCRIPTION:\n(.*?)(?:\n\S|\Z)", out, re.M | re.S)
    assert m, out
    description = m.group(1).strip()
    assert description and description != "<empty>", out


def test_delete_removes_foo(server, kver):
    ok(server.kubectl("create", "-f", str(SAMPLE), version=kver))
    out = ok(server.kubectl("delete", "foo", "foo-example", version=kver))
    assert re.search(r'"foo-example" deleted', out), out
    cp = server.kubectl("get", "foo", "foo-example", version=kver)
    assert cp.returncode != 0
    assert "NotFound" in cp.stderr, cp.stderr
    assert server.request("GET", f"{FOOS}/foo-example").status == 404

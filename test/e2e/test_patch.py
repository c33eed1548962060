"""Writes: create/update rules, the four patch types, server-side apply, dry run, fieldValidation
and generateName (docs/api.md §3.3, §4, §5.3-§5.5; checklist items 15-31 of its §11).

Raw HTTPS where the exact code, reason or message matters; kubectl and python's DynamicClient
where the checklist names them.
"""

import json
import re

import yaml
from kubernetes import config, dynamic

from conftest import (API_VERSION, FOOS, GROUP, SAMPLE, assert_failure, foo_manifest,
                      labeled_foo, ok)

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # kube's generateName alphabet
CONFLICT_SUFFIX = ("the object has been modified; please apply your changes to the latest "
                   "version and try again")
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def patch(server, name, body, ctype, query="", subresource=None):
    """PATCH foos/NAME[/SUB][?query] with that Content-Type; body: str or JSON-serializable."""
    path = f"{FOOS}/{name}" + (f"/{subresource}" if subresource else "")
    if query:
        path += "?" + query
    data = body if isinstance(body, str) else json.dumps(body)
    return server.request("PATCH", path, data, headers={"Content-Type": ctype})


def warnings(r):
    """The Warning header values of a response."""
    return r.headers.get_all("Warning") or []


# ---- create ----------------------------------------------------------------------------------


# Item 15.
def test_create_sets_server_fields_and_drops_client_owned_ones(server):
    body = foo_manifest("foo-a", replicas=2)
    body["metadata"].update(namespace="ns1", uid="client-uid", selfLink="/nowhere",
                            creationTimestamp="2001-01-01T00:00:00Z", generation=7,
                            managedFields=[{"manager": "me", "operation": "Update"}])
    body["status"] = {"replicas": 9}
    r = server.request("POST", FOOS, body)
    assert r.status == 201, r
    foo = r.json()
    meta = foo["metadata"]
    assert re.fullmatch(UUID_RE, meta["uid"]), meta
    assert re.fullmatch(TIME_RE, meta["creationTimestamp"]), meta
    assert meta["creationTimestamp"] != "2001-01-01T00:00:00Z", meta
    assert re.fullmatch(r"[1-9]\d*", meta["resourceVersion"]), meta
    assert meta["generation"] == 1, meta
    for absent in ("namespace", "selfLink", "managedFields"):
        assert absent not in meta, meta
    assert (foo.get("status") or {}).get("replicas") != 9, foo
    assert server.get_foo("foo-a") == foo

    # A resourceVersion in a create body is refused (kube: 500; 400 is the contract's choice).
    with_rv = foo_manifest("foo-rv")
    with_rv["metadata"]["resourceVersion"] = "5"
    st = assert_failure(server.request("POST", FOOS, with_rv), 400, "BadRequest")
    assert st["message"] == "resourceVersion should not be set on objects to be created", st


# Item 17.
def test_generate_name_appends_five_chars_of_kube_alphabet(server):
    names = set()
    for _ in range(2):
        r = server.request("POST", FOOS, {"apiVersion": API_VERSION, "kind": "Foo",
                                          "metadata": {"generateName": "foo-"}})
        assert r.status == 201, r
        name = r.json()["metadata"]["name"]
        assert re.fullmatch(f"foo-[{NAME_SUFFIX_CHARS}]{{5}}", name), name
        assert server.get_foo(name)["metadata"]["name"] == name
        names.add(name)
    assert len(names) == 2, names

    # The prefix is cut to 58 characters, so the name stays a valid 63-character label.
    long_prefix = "a" * 69 + "-"
    r = server.request("POST", FOOS, {"apiVersion": API_VERSION, "kind": "Foo",
                                      "metadata": {"generateName": long_prefix}})
    assert r.status == 201, r
    name = r.json()["metadata"]["name"]
    assert re.fullmatch(f"a{{58}}[{NAME_SUFFIX_CHARS}]{{5}}", name), name


# Item 18.
def test_create_without_name_or_generate_name_is_invalid(server):
    r = server.request("POST", FOOS, {"apiVersion": API_VERSION, "kind": "Foo",
                                      "metadata": {}, "spec": {}})
    st = assert_failure(r, 422, "Invalid")
    assert st["details"]["kind"] == "Foo" and st["details"]["group"] == GROUP, st
    causes = st["details"]["causes"]
    assert [c["field"] for c in causes] == ["metadata.name"], causes
    assert "name or generateName is required" in causes[0]["message"], causes


# Item 19.
def test_dry_run_create_returns_object_without_rv_and_persists_nothing(server):
    w = server.watch()
    r = server.request("POST", f"{FOOS}?dryRun=All", foo_manifest("foo-dry", replicas=3))
    assert r.status == 201, r
    foo = r.json()
    assert "resourceVersion" not in foo["metadata"], foo
    assert re.fullmatch(UUID_RE, foo["metadata"]["uid"]), foo
    assert re.fullmatch(TIME_RE, foo["metadata"]["creationTimestamp"]), foo
    assert foo["spec"]["replicas"] == 3 and foo["spec"]["image"] == "nginx:1.27", foo
    assert server.request("GET", f"{FOOS}/foo-dry").status == 404
    # The next event the watch sees is the real create that follows: the dry run emitted none.
    server.create_foo("foo-real")
    ev = w.next(timeout=10)
    w.close()
    assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "foo-real"), ev

    st = assert_failure(server.request("POST", f"{FOOS}?dryRun=Some", foo_manifest("foo-x")),
                        422, "Invalid")
    assert st["details"]["kind"] == "CreateOptions", st
    assert server.request("GET", f"{FOOS}/foo-x").status == 404


# Item 54: a body without Content-Type is JSON (create and update).
def test_request_body_without_content_type_is_read_as_json(server):
    r = server.request("POST", FOOS, json.dumps(foo_manifest("foo-a", replicas=2)))
    assert r.status == 201, r
    foo = r.json()
    assert foo["spec"]["replicas"] == 2, foo
    foo["spec"]["replicas"] = 3
    r = server.request("PUT", f"{FOOS}/foo-a", json.dumps(foo))
    assert r.status == 200, r
    assert server.get_foo("foo-a")["spec"]["replicas"] == 3


# dryRun=All on a patch (docs/api.md §5.5 with §5.3's dry run).
def test_dry_run_patch_returns_patched_object_and_changes_nothing(server):
    before = server.create_foo("foo-a")
    r = patch(server, "foo-a", {"spec": {"replicas": 4}}, MERGE, "dryRun=All")
    assert r.status == 200, r
    assert r.json()["spec"]["replicas"] == 4, r
    assert server.get_foo("foo-a") == before


# Item 20: create with an unknown field under each fieldValidation mode.
def test_field_validation_strict_warn_ignore_on_create(server):
    def create(name, query):
        body = foo_manifest(name, replicas=1)
        body["spec"]["bogus"] = 1
        return server.request("POST", FOOS + query, body)

    st = assert_failure(create("foo-strict", "?fieldValidation=Strict"), 400, "BadRequest")
    assert 'strict decoding error: unknown field "spec.bogus"' in st["message"], st
    assert st["message"].startswith('Foo in version "v1beta1" cannot be handled as a Foo'), st
    assert server.request("GET", f"{FOOS}/foo-strict").status == 404

    expected_warning = '299 - "unknown field \\"spec.bogus\\""'
    for name, query in (("foo-warn", "?fieldValidation=Warn"), ("foo-default", "")):
        r = create(name, query)
        assert r.status == 201, r
        assert warnings(r) == [expected_warning], r.headers
        assert "bogus" not in r.json()["spec"], r

    r = create("foo-ignore", "?fieldValidation=Ignore")
    assert r.status == 201, r
    assert warnings(r) == [], r.headers
    assert "bogus" not in server.get_foo("foo-ignore")["spec"]

    st = assert_failure(create("foo-bad", "?fieldValidation=Loud"), 422, "Invalid")
    assert st["details"]["kind"] == "CreateOptions", st


# Item 20 for patches: the patched object is what is checked.
def test_field_validation_strict_rejects_unknown_field_in_patch(server):
    server.create_foo("foo-a")
    st = assert_failure(patch(server, "foo-a", {"spec": {"bogus": 1}}, MERGE,
                              "fieldValidation=Strict"), 400, "BadRequest")
    assert 'strict decoding error: unknown field "spec.bogus"' in st["message"], st
    r = patch(server, "foo-a", {"spec": {"bogus": 1, "replicas": 2}}, MERGE)
    assert r.status == 200, r
    assert warnings(r) == ['299 - "unknown field \\"spec.bogus\\""'], r.headers
    assert server.get_foo("foo-a")["spec"]["replicas"] == 2


# ---- get and update --------------------------------------------------------------------------


# Item 21.
def test_get_missing_is_not_found_status(server):
    st = assert_failure(server.request("GET", f"{FOOS}/nope"), 404, "NotFound")
    assert st["message"] == f'foos.{GROUP} "nope" not found', st
    d = st["details"]
    assert (d["name"], d["group"], d["kind"]) == ("nope", GROUP, "foos"), st


# Item 23.
def test_put_with_other_name_is_400_and_put_of_missing_is_404(server):
    foo = server.create_foo("foo-a")
    other = json.loads(json.dumps(foo))
    other["metadata"]["name"] = "foo-b"
    st = assert_failure(server.request("PUT", f"{FOOS}/foo-a", other), 400, "BadRequest")
    assert st["message"] == ("the name of the object (foo-b) does not match the name on the "
                             "URL (foo-a)"), st
    missing = foo_manifest("foo-missing")
    assert_failure(server.request("PUT", f"{FOOS}/foo-missing", missing), 404, "NotFound")
    assert server.request("GET", f"{FOOS}/foo-missing").status == 404


# Item 24.
def test_put_generation_grows_only_with_spec_and_status_is_ignored(server):
    foo = server.create_foo("foo-a")
    foo["metadata"]["labels"] = {"app": "a"}
    r = server.request("PUT", f"{FOOS}/foo-a", foo)
    assert r.status == 200, r
    foo = r.json()
    assert foo["metadata"]["labels"] == {"app": "a"} and foo["metadata"]["generation"] == 1, foo

    foo["spec"]["replicas"] = 3
    r = server.request("PUT", f"{FOOS}/foo-a", foo)
    assert r.status == 200, r
    foo = r.json()
    assert foo["spec"]["replicas"] == 3 and foo["metadata"]["generation"] == 2, foo

    foo["status"] = {"replicas": 5}
    r = server.request("PUT", f"{FOOS}/foo-a", foo)
    assert r.status == 200, r
    assert (r.json().get("status") or {}).get("replicas") != 5, r
    assert r.json()["metadata"]["generation"] == 2, r


# Item 25 (PUT; the PATCH form is in test_subresources.py).
def test_put_status_changes_only_status(server):
    before = server.request("POST", FOOS, labeled_foo("foo-a", {"app": "a"})).json()
    body = json.loads(json.dumps(before))
    body["spec"]["replicas"] = 7
    body["metadata"]["labels"] = {"app": "changed"}
    body["status"] = {"replicas": 2, "availableReplicas": 1}
    r = server.request("PUT", f"{FOOS}/foo-a/status", body)
    assert r.status == 200, r
    after = r.json()
    assert after["status"]["replicas"] == 2 and after["status"]["availableReplicas"] == 1, after
    assert after["spec"] == before["spec"], after
    assert after["metadata"]["labels"] == {"app": "a"}, after
    assert after["metadata"]["generation"] == 1, after
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert server.get_foo("foo-a") == after


# ---- patch -----------------------------------------------------------------------------------


# Item 26: each accepted patch type, bare and with a charset parameter.
def test_each_patch_type_returns_the_patched_object(server):
    server.create_foo("foo-a")
    cases = [
        (JSON_PATCH, [{"op": "replace", "path": "/spec/replicas", "value": None}]),
        (MERGE, {"spec": {"replicas": None}}),
        (STRATEGIC, {"spec": {"replicas": None}}),
    ]
    replicas = 1
    for ctype, body in cases:
        for suffix in ("", "; charset=utf-8"):
            replicas += 1
            text = json.dumps(body).replace("null", str(replicas))
            r = patch(server, "foo-a", text, ctype + suffix)
            assert r.status == 200, (ctype + suffix, r)
            foo = r.json()
            assert foo["kind"] == "Foo" and foo["spec"]["replicas"] == replicas, (ctype, foo)
            assert server.get_foo("foo-a")["spec"]["replicas"] == replicas


# Item 26 with a strategic-merge directive: removed before merging (D4).
def test_strategic_patch_directives_are_dropped(server):
    server.request("POST", FOOS, labeled_foo("foo-a", {"app": "a", "tier": "web"}))
    body = {"metadata": {"labels": {"tier": None, "new": "x"},
                         "$setElementOrder/finalizers": []},
            "spec": {"replicas": 2}}
    r = patch(server, "foo-a", body, STRATEGIC, "fieldValidation=Strict")
    assert r.status == 200, r
    foo = r.json()
    assert foo["metadata"]["labels"] == {"app": "a", "new": "x"}, foo
    assert foo["spec"]["replicas"] == 2, foo


# Item 26 through the clients: kubectl patch --type json|merge|strategic.
def test_kubectl_patch_with_each_type(server, kver):
    server.create_foo("foo-a")
    ok(server.kubectl("patch", "foo", "foo-a", "--type", "json", "-p",
                      '[{"op":"add","path":"/metadata/labels","value":{"via":"json"}}]',
                      version=kver))
    ok(server.kubectl("patch", "foo", "foo-a", "--type", "merge", "-p",
                      '{"spec":{"replicas":3}}', version=kver))
    out = ok(server.kubectl("patch", "foo", "foo-a", "-p", '{"spec":{"image":"nginx:1.28"}}',
                            version=kver))  # --type strategic is kubectl's default
    assert "foo-a patched" in out, out
    foo = server.get_foo("foo-a")
    assert foo["metadata"]["labels"] == {"via": "json"}, foo
    assert foo["spec"]["replicas"] == 3 and foo["spec"]["image"] == "nginx:1.28", foo
    assert foo["metadata"]["generation"] == 3, foo


# Item 26 through python: DynamicClient.patch defaults to strategic merge patch. Under Strict
# field validation the SMP directive passes only if the server read the body as SMP.
def test_python_dynamic_client_patch_defaults_to_strategic_merge(server, tmp_path):
    server.create_foo("foo-py")
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    dyn = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    foos = dyn.resources.get(api_version=API_VERSION, kind="Foo")
    patched = foos.patch(name="foo-py",
                         body={"metadata": {"labels": {"via": "python"},
                                            "$setElementOrder/finalizers": []},
                               "spec": {"replicas": 4}},
                         query_params=[("fieldValidation", "Strict")])
    assert patched.spec.replicas == 4
    assert dict(patched.metadata.labels) == {"via": "python"}
    foo = server.get_foo("foo-py")
    assert foo["spec"]["replicas"] == 4 and foo["metadata"]["generation"] == 2, foo


# Item 27.
def test_patch_with_unknown_content_type_is_415(server):
    server.create_foo("foo-a")
    st = assert_failure(patch(server, "foo-a", {"spec": {"replicas": 2}}, "text/plain"),
                        415, "UnsupportedMediaType")
    assert st["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/apply-patch+yaml, application/strategic-merge-patch+json"), st
    assert server.get_foo("foo-a")["spec"]["replicas"] == 1


# Item 28.
def test_json_patch_failed_test_is_422_and_malformed_is_400(server):
    before = server.create_foo("foo-a")
    failing = [{"op": "test", "path": "/spec/replicas", "value": 5},
               {"op": "replace", "path": "/spec/replicas", "value": 6}]
    assert_failure(patch(server, "foo-a", failing, JSON_PATCH), 422, "Invalid")
    for malformed in ('[{"op": "replace", "path": "/spec/replicas"', '{"op": "add"}',
                      '[{"op": "frobnicate", "path": "/spec"}]'):
        r = patch(server, "foo-a", malformed, JSON_PATCH)
        assert_failure(r, 400, "BadRequest")
    too_many = [{"op": "test", "path": "/spec/replicas", "value": 1}] * 10001
    st = assert_failure(patch(server, "foo-a", too_many, JSON_PATCH), 413,
                        "RequestEntityTooLarge")
    assert "10000" in st["message"], st
    r = patch(server, "foo-a", too_many[:10000], JSON_PATCH)  # the limit itself is fine
    assert r.status == 200, r
    assert server.get_foo("foo-a") == before
    # A non-apply patch never creates.
    assert_failure(patch(server, "nope", [], JSON_PATCH), 404, "NotFound")
    assert_failure(patch(server, "nope", {"spec": {}}, MERGE), 404, "NotFound")


# Item 29.
def test_merge_patch_with_stale_resource_version_is_conflict(server):
    foo = server.create_foo("foo-a")
    stale = foo["metadata"]["resourceVersion"]
    assert server.merge_patch("foo-a", {"spec": {"replicas": 2}}).status == 200
    st = assert_failure(server.merge_patch("foo-a", {"metadata": {"resourceVersion": stale},
                                                     "spec": {"replicas": 3}}), 409, "Conflict")
    assert st["message"].endswith(CONFLICT_SUFFIX), st
    current = server.get_foo("foo-a")
    assert current["spec"]["replicas"] == 2
    # The current resourceVersion as a precondition succeeds.
    r = server.merge_patch("foo-a", {"metadata": {"resourceVersion":
                                                  current["metadata"]["resourceVersion"]},
                                     "spec": {"replicas": 3}})
    assert r.status == 200, r
    # Changing the uid is a failed precondition too (docs/api.md §5.5; kube may answer 409 or 422).
    r = server.merge_patch("foo-a", {"metadata": {"uid": "00000000-0000-4000-8000-000000000000"}})
    assert r.status in (409, 422), r
    assert server.get_foo("foo-a")["metadata"]["uid"] == foo["metadata"]["uid"]


# Item 30.
def test_apply_patch_creates_then_merges_and_requires_field_manager(server):
    doc = yaml.safe_dump({"apiVersion": API_VERSION, "kind": "Foo",
                          "metadata": {"name": "foo-ssa", "labels": {"app": "a"}},
                          "spec": {"replicas": 2}})
    r = patch(server, "foo-ssa", doc, APPLY, "fieldManager=kubectl")
    assert r.status == 201, r
    created = r.json()
    assert created["spec"]["replicas"] == 2 and created["metadata"]["generation"] == 1, created
    assert "managedFields" not in created["metadata"], created

    # Fields the applied configuration leaves out stay as they are.
    doc2 = yaml.safe_dump({"apiVersion": API_VERSION, "kind": "Foo",
                           "metadata": {"name": "foo-ssa"}, "spec": {"image": "nginx:1.28"}})
    r = patch(server, "foo-ssa", doc2, APPLY, "fieldManager=kubectl&force=true")
    assert r.status == 200, r
    merged = r.json()
    assert merged["spec"]["image"] == "nginx:1.28" and merged["spec"]["replicas"] == 2, merged
    assert merged["metadata"]["labels"] == {"app": "a"}, merged
    assert merged["metadata"]["uid"] == created["metadata"]["uid"], merged

    other = yaml.safe_dump({"apiVersion": API_VERSION, "kind": "Foo",
                            "metadata": {"name": "foo-other"}})
    st = assert_failure(patch(server, "foo-ssa", other, APPLY, "fieldManager=kubectl"), 400,
                        "BadRequest")
    assert "does not match the name on the URL" in st["message"], st

    st = assert_failure(patch(server, "foo-ssa", doc2, APPLY), 422, "Invalid")
    assert st["details"]["kind"] == "PatchOptions", st
    assert [c["field"] for c in st["details"]["causes"]] == ["fieldManager"], st
    st = assert_failure(patch(server, "foo-ssa", {"spec": {"replicas": 3}}, MERGE, "force=true"),
                        422, "Invalid")
    assert "force" in st["message"], st
    assert server.get_foo("foo-ssa")["spec"]["replicas"] == 2


# Item 31: kubectl apply --server-side, first creating then changing the object.
def test_kubectl_apply_server_side_creates_then_updates(server, kver, tmp_path):
    out = ok(server.kubectl("apply", "--server-side", "-f", str(SAMPLE), version=kver))
    assert re.search(r"foo-example serverside-applied", out), out
    doc = yaml.safe_load(SAMPLE.read_text())
    doc["spec"]["replicas"] = 3
    changed = tmp_path / "foo.yaml"
    changed.write_text(yaml.safe_dump(doc))
    out = ok(server.kubectl("apply", "--server-side", "-f", str(changed), version=kver))
    assert re.search(r"foo-example serverside-applied", out), out
    foo = server.get_foo("foo-example")
    assert foo["spec"]["replicas"] == 3 and foo["metadata"]["generation"] == 2, foo


# Item 31: kubectl diff (a server-side dry run) shows nothing for the live state, the change
# otherwise, and changes nothing.
def test_kubectl_diff_shows_only_real_changes(server, tmp_path):
    ok(server.kubectl("apply", "-f", str(SAMPLE)))
    cp = server.kubectl("diff", "-f", str(SAMPLE))
    assert cp.returncode == 0 and cp.stdout == "", (cp.stdout, cp.stderr)

    doc = yaml.safe_load(SAMPLE.read_text())
    doc["spec"]["replicas"] = 4
    changed = tmp_path / "foo.yaml"
    changed.write_text(yaml.safe_dump(doc))
    before = server.get_foo("foo-example")
    cp = server.kubectl("diff", "-f", str(changed))
    assert cp.returncode == 1, (cp.stdout, cp.stderr)  # 1 = differences found
    assert re.search(r"^-\s+replicas: 1$", cp.stdout, re.M), cp.stdout
    assert re.search(r"^\+\s+replicas: 4$", cp.stdout, re.M), cp.stdout
    assert server.get_foo("foo-example") == before

"""Hostile input, items 4, 5, 6 (labels) and 7 (doubles): what one request may build is bounded
(JSON patch copies, YAML aliases and nesting), large bodies cost linear work, labels and
annotations are capped as kube caps them, and out-of-range numbers are plain validation errors.
Every refused request leaves the stored object as it was and the server answering."""

import json

from conftest import FOOS, assert_failure, foo_manifest, labeled_foo

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"

QNAME_BODY = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
SUBDOMAIN_BODY = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def patch(server, name, body, ctype, query=""):
    path = f"{FOOS}/{name}" + (f"?{query}" if query else "")
    data = body if isinstance(body, str) else json.dumps(body)
    return server.request("PATCH", path, data, headers={"Content-Type": ctype})


def post(server, obj):
    return server.request("POST", FOOS, obj)


def names(server):
    return sorted(i["metadata"]["name"] for i in server.get_json(FOOS)["items"])


def assert_alive(server):
    r = server.request("GET", "/healthz")
    assert r.status == 200 and r.body == b"ok", r


def base36(i):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        i, d = divmod(i, 36)
        s = digits[d] + s
        if i == 0:
            return s


# ---- item 4: one request cannot build without bound -----------------------------------------

def test_item4_json_patch_copy_bomb_is_413_naming_the_limit(server):
    before = server.create_foo("bomb", image="nginx:1.27-with-a-longer-tag-for-the-copies")
    ops = [{"op": "copy", "from": "/spec", "path": f"/spec/c{i}"} for i in range(40)]
    st = assert_failure(patch(server, "bomb", ops, JSON_PATCH), 413, "RequestEntityTooLarge")
    assert st["message"].startswith("Request entity too large: json patch operation #"), st
    assert ("Unable to complete the copy, the accumulated size increase of copy would exceed "
            "the limit 3145728 bytes") in st["message"], st
    assert server.get_foo("bomb") == before
    assert_alive(server)


def test_item4_json_patch_copies_within_the_limit_apply(server):
    server.create_foo("copies", replicas=2)
    ops = [{"op": "copy", "from": "/spec/replicas", "path": "/metadata/labels"}]
    # a number is not a label map: that is validation's business, the copy itself applies
    r = patch(server, "copies", ops, JSON_PATCH)
    assert_failure(r, 422, "Invalid")
    ops = [{"op": "add", "path": "/metadata/labels", "value": {"a": "x"}},
           {"op": "copy", "from": "/metadata/labels/a", "path": "/metadata/labels/b"}]
    r = patch(server, "copies", ops, JSON_PATCH)
    assert r.status == 200, r
    assert server.get_foo("copies")["metadata"]["labels"] == {"a": "x", "b": "x"}


def billion_laughs():
    lines = ["apiVersion: demo.example.com/v1beta1", "kind: Foo",
             "metadata: {name: laughs}", "spec:", "  image: nginx", "  a0: &a0 [lol]"]
    for i in range(1, 10):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_item4_apply_yaml_billion_laughs_is_400(server):
    before = server.create_foo("laughs")
    doc = billion_laughs()
    assert len(doc) < 1000
    r = patch(server, "laughs", doc, APPLY, "fieldManager=t&force=true")
    st = assert_failure(r, 400, "BadRequest")
    assert st["message"].startswith(
        "error decoding YAML: document contains excessive aliasing"), st
    assert server.get_foo("laughs") == before
    assert_alive(server)


def test_item4_apply_yaml_aliases_within_bounds_still_work(server):
    doc = ("apiVersion: demo.example.com/v1beta1\nkind: Foo\n"
           "metadata:\n  name: aliased\n  labels: &l {app: web, tier: front}\n"
           "  annotations: *l\n"
           "spec: {replicas: 2}\n")
    r = patch(server, "aliased", doc, APPLY, "fieldManager=t")
    assert r.status in (200, 201), r
    meta = server.get_foo("aliased")["metadata"]
    assert meta["labels"] == {"app": "web", "tier": "front"}
    assert meta["annotations"] == {"app": "web", "tier": "front"}


def test_item4_apply_yaml_nested_too_deep_is_400(server):
    before = server.create_foo("deep")
    doc = "spec:\n  x: " + "[" * 200000 + "\n"
    r = patch(server, "deep", doc, APPLY, "fieldManager=t&force=true")
    st = assert_failure(r, 400, "BadRequest")
    assert st["message"] == "error decoding YAML: YAML nesting too deep (more than 100 levels)", st
    assert server.get_foo("deep") == before
    assert_alive(server)


# ---- item 5: large bodies cost linear work --------------------------------------------------

def test_item5_merge_patch_of_250000_label_keys_is_answered(server):
    # 60 000 stored labels, then one patch naming 250 000 keys, all null (delete if present):
    # first 190 000 absent ones, then the stored ones. Looked up by a walk of the stored list,
    # each absent key cost 60 000 string compares: 10^10 in all.
    stored = {base36(i): "" for i in range(60000)}
    r = post(server, labeled_foo("many", stored))
    assert r.status == 201, r
    order = list(range(60000, 250000)) + list(range(60000))
    body = json.dumps({"metadata": {"labels": {base36(i): None for i in order}}},
                      separators=(",", ":"))
    assert len(body) < 3 * 1024 * 1024
    r = patch(server, "many", body, MERGE)
    assert r.status == 200, r
    assert "labels" not in server.get_foo("many")["metadata"] or \
        server.get_foo("many")["metadata"]["labels"] == {}
    assert_alive(server)


def test_item5_apply_yaml_of_250000_keys_is_answered(server):
    # Repeated YAML keys were resolved by a linear search per key.
    lines = ["apiVersion: demo.example.com/v1beta1", "kind: Foo", "metadata:", "  name: ykeys",
             "spec:", "  replicas: 1", "  x:"]
    lines += [f"    {base36(i)}: 0" for i in range(250000)]
    doc = "\n".join(lines) + "\n"
    assert len(doc) < 3 * 1024 * 1024
    r = patch(server, "ykeys", doc, APPLY, "fieldManager=t")
    # spec.x is not a Foo field: dropped with a warning (or refused when too large to store)
    assert r.status in (200, 201, 413), r
    assert_alive(server)


def test_item5_250000_bad_labels_give_a_bounded_422(server):
    labels = {f"-{base36(i)}": "" for i in range(120000)}
    r = post(server, labeled_foo("badlabels", labels))
    st = assert_failure(r, 422, "Invalid")
    causes = st["details"]["causes"]
    assert len(causes) == 101, len(causes)
    assert causes[-1] == {"reason": "FieldValueInvalid", "field": "metadata.labels",
                          "message": "and 119900 more errors (only the first 100 are reported)"}
    assert len(r.body) < 256 * 1024
    assert names(server) == []
    assert_alive(server)


# ---- item 6: labels and annotations capped as kube caps them --------------------------------

def test_item6_label_value_of_63_is_accepted_and_64_is_422(server):
    r = post(server, labeled_foo("v63", {"app": "v" * 63}))
    assert r.status == 201, r
    r = post(server, labeled_foo("v64", {"app": "v" * 64}))
    st = assert_failure(r, 422, "Invalid")
    assert st["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "metadata.labels",
        "message": f'Invalid value: "{"v" * 64}": must be no more than 63 characters'}], st
    assert names(server) == ["v63"]


def test_item6_label_key_parts_are_capped_and_checked(server):
    cases = {
        "Example.com/app": "prefix part " + SUBDOMAIN_BODY,
        "/app": "prefix part must be non-empty",
        ("a" * 254) + "/app": "prefix part must be no more than 253 characters",
        "example.com/" + "n" * 64: "name part must be no more than 63 characters",
        "-app": "name part " + QNAME_BODY,
    }
    for key, msg in cases.items():
        r = post(server, labeled_foo("k", {key: "x"}))
        st = assert_failure(r, 422, "Invalid")
        assert st["details"]["causes"] == [{
            "reason": "FieldValueInvalid", "field": "metadata.labels",
            "message": f'Invalid value: "{key}": {msg}'}], (key, st)
    ok = ("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 61) + "/" + "n" * 63
    r = post(server, labeled_foo("k", {ok: "x"}))
    assert r.status == 201, r
    assert names(server) == ["k"]


def test_item6_annotations_over_256_kib_are_422(server):
    foo = foo_manifest("ann")
    foo["metadata"]["annotations"] = {"k": "x" * (256 * 1024 - 1)}  # exactly 256 KiB
    r = post(server, foo)
    assert r.status == 201, r
    before = server.get_foo("ann")
    r = patch(server, "ann", {"metadata": {"annotations": {"k2": "y"}}}, MERGE)
    st = assert_failure(r, 422, "Invalid")
    assert st["details"]["causes"] == [{
        "reason": "FieldValueTooLong", "field": "metadata.annotations",
        "message": "Too long: may not be more than 262144 bytes"}], st
    assert server.get_foo("ann") == before


# ---- item 7 (numbers): out-of-range doubles are validation errors, not undefined behaviour ---

def test_item7_out_of_range_replicas_are_422(server):
    for raw in ("1e300", "-1e300", "1.5", "9223372036854775808", "1e400"):
        body = ('{"apiVersion":"demo.example.com/v1beta1","kind":"Foo",'
                '"metadata":{"name":"n"},"spec":{"replicas":' + raw + '}}')
        r = server.request("POST", FOOS, body, headers={"Content-Type": "application/json"})
        assert r.status in (400, 422), (raw, r)  # 1e400 is no JSON number Go would read
        if r.status == 422:
            causes = r.json()["details"]["causes"]
            assert [c["field"] for c in causes] == ["spec.replicas"], (raw, causes)
    assert names(server) == []
    assert_alive(server)

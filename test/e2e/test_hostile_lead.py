"""Hostile input, items 2 and 6 (and the body reading they share): what a client sends is read
once, the way Go clients and kube's storage read it, and nothing it did not ask for is stored."""

import json

from conftest import FOOS, assert_failure, foo_manifest

FORGED_UID = (
    '{"apiVersion":"demo.example.com/v1beta1","kind":"Foo",'
    '"metadata":{"name":"d","uid":"a","uid":"forged"},'
    '"spec":{},"status":{},"status":{"availableReplicas":7}}'
)

STORED_OBJECT_LIMIT = 1536 * 1024


def post_raw(server, body, query=""):
    return server.request("POST", FOOS + query, body,
                          headers={"Content-Type": "application/json"})


def all_foos(server):
    return {i["metadata"]["name"]: i for i in server.get_json(FOOS)["items"]}


def test_item2_duplicate_keys_cannot_forge_uid_or_status(server):
    r = post_raw(server, FORGED_UID)
    assert r.status == 201, r
    foo = server.get_foo("d")
    assert foo["metadata"]["uid"] not in ("a", "forged"), foo
    assert foo.get("status", {}).get("availableReplicas") is None, foo
    warnings = r.headers.get_all("Warning") or []
    assert any('duplicate field \\"metadata.uid\\"' in w for w in warnings), warnings
    assert any('duplicate field \\"status\\"' in w for w in warnings), warnings


def test_item2_duplicate_keys_under_strict_are_a_400_naming_them(server):
    r = post_raw(server, FORGED_UID, "?fieldValidation=Strict")
    st = assert_failure(r, 400, "BadRequest")
    assert 'strict decoding error: ' in st["message"], st
    assert 'duplicate field "metadata.uid"' in st["message"], st
    assert 'duplicate field "status"' in st["message"], st
    assert all_foos(server) == {}


def test_item2_duplicate_keys_under_ignore_keep_the_last_value_silently(server):
    body = '{"metadata":{"name":"e"},"spec":{"replicas":1,"replicas":3}}'
    r = post_raw(server, body, "?fieldValidation=Ignore")
    assert r.status == 201, r
    assert not r.headers.get_all("Warning")
    assert server.get_foo("e")["spec"]["replicas"] == 3


def test_item2_duplicate_keys_in_a_patch_are_resolved_before_the_rules(server):
    server.create_foo("p", replicas=1)
    before = server.get_foo("p")
    r = server.request("PATCH", f"{FOOS}/p",
                       '{"status":{"replicas":9},"spec":{"replicas":2},"spec":{"replicas":4}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    assert r.status == 200, r
    after = server.get_foo("p")
    assert after["spec"]["replicas"] == 4
    assert after.get("status", {}) == before.get("status", {}), "status is not writable here"


def test_item2_escaped_nul_in_a_key_is_refused(server):
    body = '{"metadata":{"name":"n","uid\\u0000x":"forged"},"spec":{}}'
    st = assert_failure(post_raw(server, body), 400, "BadRequest")
    assert "not valid JSON" in st["message"], st
    assert all_foos(server) == {}


def test_item2_trailing_content_after_the_body_is_refused(server):
    body = json.dumps(foo_manifest("t")) + ' {"metadata":{"name":"u"}}'
    assert_failure(post_raw(server, body), 400, "BadRequest")
    assert all_foos(server) == {}


def test_unknown_keys_with_dots_are_not_stored(server):
    body = '{"metadata":{"name":"k"},"spec":{"a.b":1,"' + "z" * 600 + '":2}}'
    r = post_raw(server, body)
    assert r.status == 201, r
    spec = server.get_foo("k")["spec"]
    assert "a.b" not in spec and "z" * 600 not in spec, spec


def big_finalizer_list():
    """Valid finalizer names adding up to more than the stored-object bound (1.5 MiB), in a
    body well under the 3 MiB request limit, so the storage bound is what answers."""
    return [f"example.com/{'f' * 50}{i:06d}" for i in range(24000)]


def test_item6_object_over_the_stored_limit_is_413_and_not_stored(server):
    server.create_foo("big", replicas=1)
    before = server.get_foo("big")
    r = server.merge_patch("big", {"metadata": {"finalizers": big_finalizer_list()}})
    st = assert_failure(r, 413, "RequestEntityTooLarge")
    assert str(STORED_OBJECT_LIMIT) in st["message"], st
    assert server.get_foo("big") == before
    manifest = foo_manifest("big2")
    manifest["metadata"]["finalizers"] = big_finalizer_list()
    assert_failure(server.request("POST", FOOS, manifest), 413, "RequestEntityTooLarge")
    assert set(all_foos(server)) == {"big"}


# The same class as item 1: a selector term or a ListOptions value must never be ignored, or a
# deletecollection deletes more than it was asked to.
def names(server):
    return sorted(all_foos(server))


def test_item1_class_every_field_selector_term_counts_in_deletecollection(server):
    for n in ("a", "b", "c"):
        server.create_foo(n)
    r = server.request("DELETE", f"{FOOS}?fieldSelector=metadata.name%3Da,metadata.name%3Db")
    assert r.status == 200, r
    assert names(server) == ["a", "b", "c"]
    r = server.request("DELETE", f"{FOOS}?fieldSelector=metadata.name!%3Da,metadata.name!%3Db")
    assert r.status == 200, r
    assert names(server) == ["a", "b"]


def test_item1_class_namespace_field_selector_is_applied_not_ignored(server):
    for n in ("a", "b"):
        server.create_foo(n)
    r = server.request("DELETE", f"{FOOS}?fieldSelector=metadata.namespace%3Ddefault")
    assert r.status == 200, r
    assert names(server) == ["a", "b"], "Foos are cluster-scoped: no namespace matches"
    got = server.get_json(f"{FOOS}?fieldSelector=metadata.namespace%3D")
    assert len(got["items"]) == 2


def test_item1_class_deletecollection_honours_limit(server):
    for n in ("a", "b", "c"):
        server.create_foo(n)
    r = server.request("DELETE", f"{FOOS}?limit=1")
    assert r.status == 200, r
    assert names(server) == ["b", "c"]


def test_item1_class_unparsable_list_options_are_400(server):
    server.create_foo("a")
    for query in ("watch=maybe", "limit=ten", "limit=-1", "resourceVersion=12x",
                  "timeoutSeconds=soon", "allowWatchBookmarks=yes&watch=true"):
        st = assert_failure(server.request("GET", f"{FOOS}?{query}"), 400, "BadRequest")
        assert query.split("=")[0] in st["message"] or "watch" in st["message"], (query, st)
    r = server.request("DELETE", f"{FOOS}?limit=all")
    assert_failure(r, 400, "BadRequest")
    assert names(server) == ["a"]


def test_item1_class_a_parameter_repeated_with_other_values_is_400(server):
    server.create_foo("a")
    for query in ("labelSelector=app%3Dx&labelSelector=", "dryRun=All&dryRun="):
        st = assert_failure(server.request("DELETE", f"{FOOS}?{query}"), 400, "BadRequest")
        assert "more than once" in st["message"], st
    assert names(server) == ["a"]
    assert server.request("DELETE", f"{FOOS}/a?dryRun=All&dryRun=All").status == 200
    assert names(server) == ["a"]


def test_item1_class_dry_run_in_the_delete_options_body_deletes_nothing(server):
    # What kubectl delete --dry-run=server sends: the dry run only in the body.
    for n in ("a", "b"):
        server.create_foo(n)
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background",
            "dryRun": ["All"]}
    assert server.request("DELETE", f"{FOOS}/a", body).status == 200
    assert server.request("DELETE", FOOS, body).status == 200
    assert names(server) == ["a", "b"]
    st = assert_failure(server.request("DELETE", f"{FOOS}/a", {"dryRun": ["All", "Some"]}),
                        422, "Invalid")
    assert st["details"]["kind"] == "DeleteOptions", st
    assert_failure(server.request("DELETE", f"{FOOS}/a", {"dryRun": "All"}), 400, "BadRequest")
    assert names(server) == ["a", "b"]
    out = server.kubectl("delete", "foo", "a", "--dry-run=server")
    assert out.returncode == 0, out
    assert names(server) == ["a", "b"]

"""List: FooList shape, limit/continue, label and field selectors, resourceVersion rules
(docs/api.md §5.2; checklist items 37-41 of its §11), with kubectl get -l and --chunk-size.
"""

import base64
import time
from urllib.parse import quote

import pytest

from conftest import API_VERSION, FOOS, assert_failure, labeled_foo, ok

# The label fixture of the selector tests: name -> labels.
LABELS = {
    "foo-a": {"app": "a", "tier": "web"},
    "foo-b": {"app": "b", "tier": "db"},
    "foo-c": {"app": "c"},
    "foo-d": {},
}


def create_labeled(server):
    for name, labels in LABELS.items():
        r = server.request("POST", FOOS, labeled_foo(name, labels))
        assert r.status == 201, r


def list_names(server, query):
    lst = server.get_json(f"{FOOS}?{query}")
    assert lst["kind"] == "FooList", lst
    return [i["metadata"]["name"] for i in lst["items"]]


def kubectl_names(out):
    """Names from `kubectl get -o name` output (foo.demo.example.com/NAME lines)."""
    return [line.split("/", 1)[1] for line in out.split()]


# Item 37.
def test_list_is_foo_list_at_latest_rv_sorted_by_name_with_type_meta(server):
    for name in ("foo-c", "foo-a", "foo-b"):
        server.create_foo(name)
    r = server.merge_patch("foo-c", {"spec": {"replicas": 2}})
    assert r.status == 200, r
    last_rv = r.json()["metadata"]["resourceVersion"]
    lst = server.get_json(FOOS)
    assert (lst["apiVersion"], lst["kind"]) == (API_VERSION, "FooList"), lst
    assert lst["metadata"]["resourceVersion"] == last_rv, lst["metadata"]
    assert "continue" not in lst["metadata"], lst["metadata"]
    assert [i["metadata"]["name"] for i in lst["items"]] == ["foo-a", "foo-b", "foo-c"], lst
    for item in lst["items"]:
        assert (item["apiVersion"], item["kind"]) == (API_VERSION, "Foo"), item
    assert lst["items"][2]["spec"]["replicas"] == 2


# Item 38: pages of limit=2 over 5 objects yield each object exactly once.
def test_limit_and_continue_page_through_all_objects_once(server):
    names = [f"foo-{i}" for i in range(5)]
    for name in names:
        server.create_foo(name)
    seen, token, pages = [], None, 0
    while True:
        query = "limit=2" + (f"&continue={quote(token)}" if token else "")
        lst = server.get_json(f"{FOOS}?{query}")
        pages += 1
        assert len(lst["items"]) <= 2, lst
        seen += [i["metadata"]["name"] for i in lst["items"]]
        token = lst["metadata"].get("continue")
        if not token:
            break
        assert lst["metadata"]["remainingItemCount"] == 5 - len(seen), lst["metadata"]
        assert pages < 5, "continue tokens do not end"
    assert seen == names, seen
    assert pages == 3


# Item 38: a later page is consistent with the first page's snapshot, or answers 410 Expired
# when that snapshot is gone (docs/api.md §5.2); it never shows an object created meanwhile.
def test_continue_pages_do_not_show_objects_created_meanwhile(server):
    for i in range(4):
        server.create_foo(f"foo-{i}")
    first = server.get_json(f"{FOOS}?limit=2")
    token = first["metadata"]["continue"]
    server.create_foo("foo-9")
    r = server.request("GET", f"{FOOS}?limit=10&continue={quote(token)}")
    if r.status == 410:
        st = assert_failure(r, 410, "Expired")
        assert "continue" in st["message"], st
        return
    assert r.status == 200, r
    names = [i["metadata"]["name"] for i in r.json()["items"]]
    assert names == ["foo-2", "foo-3"], names


# Item 38 with a client: kubectl get --chunk-size pages with limit/continue.
def test_kubectl_get_with_chunk_size_lists_every_object(server):
    names = [f"foo-{i}" for i in range(5)]
    for name in names:
        server.create_foo(name)
    out = ok(server.kubectl("get", "foos", "--chunk-size=2", "-o", "name"))
    assert kubectl_names(out) == names, out


def test_continue_token_that_is_not_ours_is_400(server):
    server.create_foo("foo-a")
    token = base64.b64encode(b"garbage").decode()
    assert_failure(server.request("GET", f"{FOOS}?limit=1&continue={quote(token)}"), 400,
                   "BadRequest")


# Item 39: every operator of the label selector syntax.
def test_label_selector_supports_every_operator(server):
    create_labeled(server)
    cases = {
        "app=a": ["foo-a"],
        "app==a": ["foo-a"],
        "app!=a": ["foo-b", "foo-c", "foo-d"],
        "app in (a,b)": ["foo-a", "foo-b"],
        "app notin (a)": ["foo-b", "foo-c", "foo-d"],
        "tier": ["foo-a", "foo-b"],
        "!tier": ["foo-c", "foo-d"],
        "app,tier=db": ["foo-b"],
        "app in (a,b),tier!=web": ["foo-b"],
        "": ["foo-a", "foo-b", "foo-c", "foo-d"],
    }
    for sel, expected in cases.items():
        assert list_names(server, f"labelSelector={quote(sel)}") == expected, sel


# Item 39.
def test_malformed_label_selector_is_400(server):
    create_labeled(server)
    for sel in ("app in (a", "app=(a)", "!", "a b"):
        assert_failure(server.request("GET", f"{FOOS}?labelSelector={quote(sel)}"), 400,
                       "BadRequest")


# Item 39 with a client: kubectl get -l.
def test_kubectl_get_with_label_selector(server, kver):
    create_labeled(server)
    out = ok(server.kubectl("get", "foos", "-l", "app in (a,c)", "-o", "name", version=kver))
    assert kubectl_names(out) == ["foo-a", "foo-c"], out
    out = ok(server.kubectl("get", "foos", "-l", "!tier", version=kver))
    rows = [line.split()[0] for line in out.splitlines()[1:]]
    assert rows == ["foo-c", "foo-d"], out


# Item 40.
def test_field_selector_on_metadata_name(server):
    create_labeled(server)
    assert list_names(server, "fieldSelector=metadata.name%3Dfoo-a") == ["foo-a"]
    assert list_names(server, "fieldSelector=metadata.name%3D%3Dfoo-b") == ["foo-b"]
    assert list_names(server, "fieldSelector=metadata.name%21%3Dfoo-a") == [
        "foo-b", "foo-c", "foo-d"]
    assert list_names(server, "fieldSelector=metadata.name%3Dnope") == []
    assert list_names(server, "fieldSelector=metadata.namespace%3D") == [
        "foo-a", "foo-b", "foo-c", "foo-d"]
    assert list_names(server, "fieldSelector=metadata.name%3Dfoo-a&labelSelector=app%3Db") == []
    st = assert_failure(server.request("GET", f"{FOOS}?fieldSelector=spec.replicas%3D1"), 400,
                        "BadRequest")
    assert "field label not supported" in st["message"], st


# Item 41: invalid resourceVersionMatch combinations are 422 on ListOptions.
def test_invalid_resource_version_match_combinations_are_422(server):
    rv = server.create_foo("foo-a")["metadata"]["resourceVersion"]
    for query in ("resourceVersionMatch=Exact",
                  f"resourceVersionMatch=Sometimes&resourceVersion={rv}",
                  "resourceVersionMatch=Exact&resourceVersion=0",
                  "sendInitialEvents=true"):
        st = assert_failure(server.request("GET", f"{FOOS}?{query}"), 422, "Invalid")
        assert st["details"]["kind"] == "ListOptions", (query, st)
        assert st["details"]["group"] == "meta.k8s.io", (query, st)


# Item 41: resourceVersion in the future waits at most ~3 s, then 504 Timeout.
def test_list_at_future_resource_version_is_504_timeout(server):
    rv = int(server.create_foo("foo-a")["metadata"]["resourceVersion"])
    start = time.monotonic()
    r = server.request("GET", f"{FOOS}?resourceVersion={rv + 1000}")
    elapsed = time.monotonic() - start
    st = assert_failure(r, 504, "Timeout")
    assert st["message"].startswith(f"Too large resource version: {rv + 1000}"), st
    assert st["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge", st
    assert st["details"]["retryAfterSeconds"] == 1, st
    assert elapsed < 6, elapsed


# resourceVersionMatch semantics (docs/api.md §5.2): Exact serves only the current snapshot;
# NotOlderThan (and no match) serves the latest state.
def test_resource_version_match_exact_and_not_older_than(server):
    old = server.create_foo("foo-a")["metadata"]["resourceVersion"]
    cur = server.create_foo("foo-b")["metadata"]["resourceVersion"]
    lst = server.get_json(f"{FOOS}?resourceVersionMatch=Exact&resourceVersion={cur}")
    assert [i["metadata"]["name"] for i in lst["items"]] == ["foo-a", "foo-b"], lst
    st = assert_failure(server.request("GET", f"{FOOS}?resourceVersionMatch=Exact&"
                                              f"resourceVersion={old}"), 410, "Expired")
    assert "too old" in st["message"], st
    for query in (f"resourceVersionMatch=NotOlderThan&resourceVersion={old}",
                  f"resourceVersion={old}", "resourceVersion=0"):
        lst = server.get_json(f"{FOOS}?{query}")
        assert lst["metadata"]["resourceVersion"] == cur, (query, lst["metadata"])
        assert len(lst["items"]) == 2, (query, lst)

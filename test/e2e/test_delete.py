"""Deletes: Status answer, preconditions, finalizers, propagationPolicy, deletecollection and
kubectl delete -l (docs/api.md §5.6, §5.7; checklist items 32-36 of its §11).
"""

import re

import pytest

from conftest import FOOS, GROUP, assert_failure, labeled_foo, ok

FINALIZER = "demo.example.com/cleanup"


def create_with_finalizer(server, name, labels=None):
    body = labeled_foo(name, labels or {})
    body["metadata"]["finalizers"] = [FINALIZER]
    r = server.request("POST", FOOS, body)
    assert r.status == 201, r
    return r.json()


def delete_options(**fields):
    return dict({"kind": "DeleteOptions", "apiVersion": "v1"}, **fields)


# Item 32.
def test_delete_without_finalizers_answers_success_status_and_emits_deleted(server):
    foo = server.create_foo("foo-a")
    w = server.watch(f"resourceVersion={foo['metadata']['resourceVersion']}")
    r = server.request("DELETE", f"{FOOS}/foo-a")
    assert r.status == 200, r
    st = r.json()
    assert (st["kind"], st["apiVersion"], st["status"]) == ("Status", "v1", "Success"), st
    assert st["details"] == {"name": "foo-a", "group": GROUP, "kind": "foos",
                             "uid": foo["metadata"]["uid"]}, st
    assert_failure(server.request("GET", f"{FOOS}/foo-a"), 404, "NotFound")
    ev = w.next(timeout=10)
    w.close()
    assert ev["type"] == "DELETED" and ev["object"]["metadata"]["name"] == "foo-a", ev
    assert int(ev["object"]["metadata"]["resourceVersion"]) > int(
        foo["metadata"]["resourceVersion"]), ev
    assert_failure(server.request("DELETE", f"{FOOS}/foo-a"), 404, "NotFound")


# docs/api.md §5.6: dryRun=All validates and answers as a delete would, and deletes nothing.
def test_dry_run_delete_deletes_nothing(server):
    foo = server.create_foo("foo-a")
    r = server.request("DELETE", f"{FOOS}/foo-a?dryRun=All")
    assert r.status == 200, r
    assert r.json()["status"] == "Success", r
    assert server.get_foo("foo-a") == foo
    st = assert_failure(server.request("DELETE", f"{FOOS}/foo-a?dryRun=Some"), 422, "Invalid")
    assert st["details"]["kind"] == "DeleteOptions", st
    r = server.request("DELETE", f"{FOOS}?dryRun=All")
    assert r.status == 200 and [i["metadata"]["name"] for i in r.json()["items"]] == ["foo-a"], r
    assert server.get_foo("foo-a") == foo


# Item 33.
def test_delete_with_failed_precondition_is_conflict(server):
    foo = server.create_foo("foo-a")
    wrong_uid = "00000000-0000-4000-8000-000000000000"
    r = server.request("DELETE", f"{FOOS}/foo-a", delete_options(preconditions={"uid": wrong_uid}))
    st = assert_failure(r, 409, "Conflict")
    assert st["message"] == (
        f'Operation cannot be fulfilled on foos.{GROUP} "foo-a": Precondition failed: UID in '
        f'precondition: {wrong_uid}, UID in object meta: {foo["metadata"]["uid"]}'), st
    r = server.request("DELETE", f"{FOOS}/foo-a",
                       delete_options(preconditions={"resourceVersion": "1000"}))
    st = assert_failure(r, 409, "Conflict")
    assert "Precondition failed: ResourceVersion in precondition: 1000" in st["message"], st
    assert server.get_foo("foo-a") == foo

    meta = foo["metadata"]
    r = server.request("DELETE", f"{FOOS}/foo-a", delete_options(preconditions={
        "uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}))
    assert r.status == 200, r
    assert server.request("GET", f"{FOOS}/foo-a").status == 404


# Item 34.
def test_delete_with_finalizer_marks_then_finalizer_removal_deletes(server):
    foo = create_with_finalizer(server, "foo-a")
    w = server.watch(f"resourceVersion={foo['metadata']['resourceVersion']}")
    r = server.request("DELETE", f"{FOOS}/foo-a")
    assert r.status == 200, r
    marked = r.json()
    assert marked["kind"] == "Foo", marked
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        marked["metadata"]["deletionTimestamp"]), marked
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 0, marked
    assert marked["metadata"]["finalizers"] == [FINALIZER], marked
    assert server.get_foo("foo-a") == marked

    # Deleting again changes nothing.
    r = server.request("DELETE", f"{FOOS}/foo-a")
    assert r.status == 200, r
    assert r.json()["metadata"]["resourceVersion"] == marked["metadata"]["resourceVersion"], r

    # No new finalizer on a terminating object.
    st = assert_failure(server.merge_patch("foo-a", {"metadata": {
        "finalizers": [FINALIZER, "example.com/another"]}}), 422, "Invalid")
    assert "no new finalizers can be added if the object is being deleted" in st["message"], st
    assert [c["field"] for c in st["details"]["causes"]] == ["metadata.finalizers"], st

    # Removing the last finalizer deletes it.
    r = server.merge_patch("foo-a", {"metadata": {"finalizers": None}})
    assert r.status == 200, r
    assert server.request("GET", f"{FOOS}/foo-a").status == 404
    events = w.collect(lambda evs: len(evs) >= 2)
    w.close()
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"], events
    assert events[0]["object"]["metadata"]["deletionTimestamp"], events


# Item 35.
def test_foreground_and_orphan_policies_add_their_finalizer(server):
    server.create_foo("foo-fg")
    server.create_foo("foo-or")
    for name, policy, finalizer in (("foo-fg", "Foreground", "foregroundDeletion"),
                                    ("foo-or", "Orphan", "orphan")):
        r = server.request("DELETE", f"{FOOS}/{name}?propagationPolicy={policy}")
        assert r.status == 200, r
        foo = r.json()
        assert foo["metadata"]["finalizers"] == [finalizer], foo
        assert foo["metadata"]["deletionTimestamp"], foo
        assert server.get_foo(name)["metadata"]["finalizers"] == [finalizer]
    # The policy may come in the body as well.
    server.create_foo("foo-body")
    r = server.request("DELETE", f"{FOOS}/foo-body",
                       delete_options(propagationPolicy="Foreground"))
    assert r.status == 200 and r.json()["metadata"]["finalizers"] == ["foregroundDeletion"], r


# Item 35.
def test_unknown_propagation_policy_is_422(server):
    server.create_foo("foo-a")
    st = assert_failure(server.request("DELETE", f"{FOOS}/foo-a?propagationPolicy=Bogus"), 422,
                        "Invalid")
    assert st["details"]["kind"] == "DeleteOptions", st
    assert [c["field"] for c in st["details"]["causes"]] == ["propagationPolicy"], st
    assert server.get_foo("foo-a")["metadata"].get("deletionTimestamp") is None


# docs/api.md §5.6: orphanDependents together with propagationPolicy is 422.
def test_orphan_dependents_with_propagation_policy_is_422(server):
    server.create_foo("foo-a")
    r = server.request("DELETE", f"{FOOS}/foo-a",
                       delete_options(orphanDependents=True, propagationPolicy="Background"))
    st = assert_failure(r, 422, "Invalid")
    assert st["details"]["kind"] == "DeleteOptions", st


# Item 36.
def test_delete_collection_deletes_exactly_the_selected_objects(server):
    for name, labels in (("foo-a1", {"app": "a"}), ("foo-a2", {"app": "a"}),
                         ("foo-b", {"app": "b"}), ("foo-none", {})):
        assert server.request("POST", FOOS, labeled_foo(name, labels)).status == 201
    create_with_finalizer(server, "foo-a3", {"app": "a"})
    r = server.request("DELETE", f"{FOOS}?labelSelector=app%3Da")
    assert r.status == 200, r
    lst = r.json()
    assert lst["kind"] == "FooList", lst
    by_name = {i["metadata"]["name"]: i for i in lst["items"]}
    assert sorted(by_name) == ["foo-a1", "foo-a2", "foo-a3"], lst
    assert by_name["foo-a3"]["metadata"]["deletionTimestamp"], by_name["foo-a3"]

    remaining = [i["metadata"]["name"] for i in server.get_json(FOOS)["items"]]
    assert remaining == ["foo-a3", "foo-b", "foo-none"], remaining  # foo-a3 is terminating

    r = server.request("DELETE", f"{FOOS}?fieldSelector=metadata.name%3Dfoo-b")
    assert r.status == 200, r
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["foo-b"], r
    assert server.request("GET", f"{FOOS}/foo-b").status == 404
    assert server.request("GET", f"{FOOS}/foo-none").status == 200


# Item 36 with a client: kubectl delete -l.
def test_kubectl_delete_with_label_selector(server, kver):
    for name, labels in (("foo-a1", {"app": "a"}), ("foo-a2", {"app": "a"}),
                         ("foo-b", {"app": "b"})):
        assert server.request("POST", FOOS, labeled_foo(name, labels)).status == 201
    out = ok(server.kubectl("delete", "foos", "-l", "app=a", version=kver))
    assert re.findall(r'"(foo-\w+)" deleted', out) == ["foo-a1", "foo-a2"], out
    assert [i["metadata"]["name"] for i in server.get_json(FOOS)["items"]] == ["foo-b"]

"""Discovery over raw HTTPS: docs/api.md §2.1, §2.2 and checklist items 1-8 of its §11."""

import base64
import hashlib

import pytest

from conftest import API_VERSION, BASE, GROUP, VERSION

GV_ENTRY = {"groupVersion": API_VERSION, "version": VERSION}
FOO_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]

ACCEPT_V2 = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
             "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
             "application/json")
ACCEPT_V2BETA1_ONLY = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

# Tokens for checklist item 7: discovery works for the aggregator's identity and for an
# authenticated user without groups.
TOKENS = {
    "tok-aggregator": ("system:kube-aggregator", ["system:masters"]),
    "tok-nogroups": ("alice", []),
}


def storage_version_hash():
    """base64(std, padded) of the first 8 bytes of sha256("G/V/Foo") (AS storageversionhash.go)."""
    return base64.b64encode(hashlib.sha256(f"{API_VERSION}/Foo".encode()).digest()[:8]).decode()


def media_type(value):
    """Splits a Content-Type into (type, {param: value}) ignoring order and whitespace."""
    parts = [p.strip() for p in value.split(";")]
    params = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        params[k.strip()] = v.strip()
    return parts[0], params


def expected_resources():
    return [
        {"name": "foos", "singularName": "foo", "namespaced": False, "kind": "Foo",
         "verbs": FOO_VERBS, "shortNames": ["fo"], "categories": ["demo"],
         "storageVersionHash": storage_version_hash()},
        {"name": "foos/bar", "singularName": "", "namespaced": False, "kind": "FooBar",
         "verbs": ["create", "get"]},
        {"name": "foos/scale", "singularName": "", "namespaced": False, "group": "autoscaling",
         "version": "v1", "kind": "Scale", "verbs": SUB_VERBS},
        {"name": "foos/status", "singularName": "", "namespaced": False, "kind": "Foo",
         "verbs": SUB_VERBS},
    ]


def expected_aggregated_resource():
    def kind(k, g=GROUP, v=VERSION):
        return {"group": g, "version": v, "kind": k}

    return {
        "resource": "foos", "responseKind": kind("Foo"), "scope": "Cluster",
        "singularResource": "foo", "verbs": FOO_VERBS, "shortNames": ["fo"],
        "categories": ["demo"],
        "subresources": [
            {"subresource": "bar", "responseKind": kind("FooBar"), "verbs": ["create", "get"]},
            {"subresource": "scale", "responseKind": kind("Scale", "autoscaling", "v1"),
             "verbs": SUB_VERBS},
            {"subresource": "status", "responseKind": kind("Foo"), "verbs": SUB_VERBS},
        ],
    }


def test_api_is_404_or_empty_api_versions(server):
    r = server.request("GET", "/api")
    if r.status == 404:
        return
    assert r.status == 200, r
    assert r.json()["kind"] == "APIVersions"


def test_apis_returns_group_list_with_only_our_group(server):
    r = server.request("GET", "/apis", headers={"Accept": "application/json"})
    assert r.status == 200, r
    assert media_type(r.headers["Content-Type"])[0] == "application/json"
    assert r.json() == {
        "kind": "APIGroupList", "apiVersion": "v1",
        "groups": [{"name": GROUP, "versions": [GV_ENTRY], "preferredVersion": GV_ENTRY}],
    }


def test_apis_group_returns_api_group(server):
    r = server.request("GET", f"/apis/{GROUP}")
    assert r.status == 200, r
    assert r.json() == {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP,
                        "versions": [GV_ENTRY], "preferredVersion": GV_ENTRY}


def test_group_version_returns_exact_resource_list(server):
    r = server.request("GET", BASE)
    assert r.status == 200, r
    doc = r.json()
    assert doc["kind"] == "APIResourceList"
    assert doc["apiVersion"] == "v1"
    assert doc["groupVersion"] == API_VERSION
    got = sorted(doc["resources"], key=lambda e: e["name"])
    assert got == expected_resources()


def test_apis_with_v2_accept_returns_aggregated_discovery(server):
    r = server.request("GET", "/apis", headers={"Accept": ACCEPT_V2})
    assert r.status == 200, r
    assert media_type(r.headers["Content-Type"]) == (
        "application/json",
        {"g": "apidiscovery.k8s.io", "v": "v2", "as": "APIGroupDiscoveryList"})
    doc = r.json()
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    assert [g["metadata"]["name"] for g in doc["items"]] == [GROUP]
    versions = doc["items"][0]["versions"]
    assert [(v["version"], v.get("freshness")) for v in versions] == [(VERSION, "Current")]
    resources = versions[0]["resources"]
    assert len(resources) == 1
    res = dict(resources[0])
    res["subresources"] = sorted(res.get("subresources", []), key=lambda s: s["subresource"])
    assert res == expected_aggregated_resource()


def test_apis_with_v2beta1_only_accept_never_sends_v2(server):
    r = server.request("GET", "/apis", headers={"Accept": ACCEPT_V2BETA1_ONLY})
    assert r.status == 200, r
    mt, params = media_type(r.headers["Content-Type"])
    assert mt == "application/json"
    doc = r.json()
    if params:
        assert params == {"g": "apidiscovery.k8s.io", "v": "v2beta1",
                          "as": "APIGroupDiscoveryList"}
        assert doc["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
        assert doc["kind"] == "APIGroupDiscoveryList"
    else:
        assert doc["kind"] == "APIGroupList"


def test_aggregated_discovery_etag_gives_304(server):
    r = server.request("GET", "/apis", headers={"Accept": ACCEPT_V2})
    assert r.status == 200, r
    etag = r.headers.get("ETag")
    assert etag, "aggregated discovery must carry an ETag"
    r2 = server.request("GET", "/apis", headers={"Accept": ACCEPT_V2, "If-None-Match": etag})
    assert r2.status == 304, r2
    assert r2.body == b""


@pytest.mark.tokens(TOKENS)
@pytest.mark.parametrize("token", sorted(TOKENS))
def test_discovery_succeeds_for_aggregator_and_user_without_groups(server, token):
    for path in ("/apis", f"/apis/{GROUP}", BASE):
        r = server.request("GET", path, auth=token)
        assert r.status == 200, (path, r)
    r = server.request("GET", "/apis", auth=token, headers={"Accept": ACCEPT_V2})
    assert r.status == 200, r


def test_version_has_string_fields(server):
    r = server.request("GET", "/version")
    assert r.status == 200, r
    doc = r.json()
    for k in ("major", "minor", "gitVersion"):
        assert isinstance(doc.get(k), str) and doc[k], (k, doc)

"""Discovery and OpenAPI over raw HTTPS and through kubectl: docs/api.md §2, §3 and checklist
items 1-13 of its §11.

Discovery and OpenAPI are generated from the registry. The standalone server also serves the
built-in kinds (apps/v1 deployments, v1 events and namespaces, coordination.k8s.io/v1 leases);
the tests of their documents are skipped, visibly, when the server under test has no core group.
"""

import base64
import hashlib
import re

import pytest
import yaml

from conftest import API_VERSION, BASE, GROUP, SAMPLE, VERSION, ok

GV_ENTRY = {"groupVersion": API_VERSION, "version": VERSION}
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NAMESPACE_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]
BUILTIN_GROUPS = ["apps", "coordination.k8s.io"]

ACCEPT_V2 = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
             "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
             "application/json")
ACCEPT_V2BETA1_ONLY = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
PROTO_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

# Tokens for checklist item 7: discovery works for the aggregator's identity and for an
# authenticated user without groups.
TOKENS = {
    "tok-aggregator": ("system:kube-aggregator", ["system:masters"]),
    "tok-nogroups": ("alice", []),
}


def storage_version_hash(group, version, kind):
    """base64(std, padded) of the first 8 bytes of sha256("G/V/Kind"), kube's storageVersionHash."""
    return base64.b64encode(hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()[:8]
                            ).decode()


def media_type(value):
    """Splits a Content-Type into (type, {param: value}) ignoring order and whitespace."""
    parts = [p.strip() for p in value.split(";")]
    params = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        params[k.strip()] = v.strip()
    return parts[0], params


def has_builtins(server):
    """Whether the server serves the core group (the built-in kinds of --standalone)."""
    r = server.request("GET", "/api")
    assert r.status in (200, 404), r
    return r.status == 200


def need_builtins(server):
    if not has_builtins(server):
        pytest.skip("the server serves no built-in kinds (no core group)")


def resource(name, singular, namespaced, kind, verbs, group, version, short=None, cats=None):
    e = {"name": name, "singularName": singular, "namespaced": namespaced, "kind": kind,
         "verbs": verbs}
    if short:
        e["shortNames"] = short
    if cats:
        e["categories"] = cats
    e["storageVersionHash"] = storage_version_hash(group, version, kind)
    return e


def sub(name, namespaced, kind, verbs=SUB_VERBS, gv=None):
    e = {"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs}
    if gv:
        e["group"], e["version"] = gv
    return e


def expected_foo_resources():
    return [
        resource("foos", "foo", False, "Foo", ALL_VERBS, GROUP, VERSION, ["fo"], ["demo"]),
        sub("foos/bar", False, "FooBar", ["create", "get"]),
        sub("foos/scale", False, "Scale", gv=("autoscaling", "v1")),
        sub("foos/status", False, "Foo"),
    ]


EXPECTED_BUILTIN_RESOURCES = {
    "/api/v1": ("v1", [
        resource("events", "event", True, "Event", ALL_VERBS, "", "v1", ["ev"]),
        resource("namespaces", "namespace", False, "Namespace", NAMESPACE_VERBS, "", "v1", ["ns"]),
        sub("namespaces/status", False, "Namespace"),
    ]),
    "/apis/apps/v1": ("apps/v1", [
        resource("deployments", "deployment", True, "Deployment", ALL_VERBS, "apps", "v1",
                 ["deploy"], ["all"]),
        sub("deployments/scale", True, "Scale", gv=("autoscaling", "v1")),
        sub("deployments/status", True, "Deployment"),
    ]),
    "/apis/coordination.k8s.io/v1": ("coordination.k8s.io/v1", [
        resource("leases", "lease", True, "Lease", ALL_VERBS, "coordination.k8s.io", "v1"),
    ]),
}


def expected_aggregated_foo():
    def kind(k, g=GROUP, v=VERSION):
        return {"group": g, "version": v, "kind": k}

    return {
        "resource": "foos", "responseKind": kind("Foo"), "scope": "Cluster",
        "singularResource": "foo", "verbs": ALL_VERBS, "shortNames": ["fo"],
        "categories": ["demo"],
        "subresources": [
            {"subresource": "bar", "responseKind": kind("FooBar"), "verbs": ["create", "get"]},
            {"subresource": "scale", "responseKind": kind("Scale", "autoscaling", "v1"),
             "verbs": SUB_VERBS},
            {"subresource": "status", "responseKind": kind("Foo"), "verbs": SUB_VERBS},
        ],
    }


def aggregated(server, path, accept=ACCEPT_V2):
    r = server.request("GET", path, headers={"Accept": accept})
    assert r.status == 200, r
    assert media_type(r.headers["Content-Type"]) == (
        "application/json",
        {"g": "apidiscovery.k8s.io", "v": "v2", "as": "APIGroupDiscoveryList"})
    doc = r.json()
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    return r, doc


# ---- legacy discovery (items 1-3) ----------------------------------------------------------


def test_api_is_api_versions_with_v1_or_404(server):
    r = server.request("GET", "/api")
    if r.status == 404:  # no core group: client-go accepts this from aggregated servers
        return
    assert r.status == 200, r
    assert r.json() == {"kind": "APIVersions", "versions": ["v1"],
                        "serverAddressByClientCIDRs": []}


def test_apis_returns_group_list_of_every_served_group(server):
    r = server.request("GET", "/apis", headers={"Accept": "application/json"})
    assert r.status == 200, r
    assert media_type(r.headers["Content-Type"])[0] == "application/json"
    doc = r.json()
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupList", "v1")
    assert doc["groups"][0] == {"name": GROUP, "versions": [GV_ENTRY],
                                "preferredVersion": GV_ENTRY}
    names = [g["name"] for g in doc["groups"]]
    assert names == [GROUP] + (BUILTIN_GROUPS if has_builtins(server) else []), names
    for g in doc["groups"]:  # python compares preferredVersion with versions[] by ==
        assert len(g["versions"]) == 1 and g["preferredVersion"] == g["versions"][0], g
        v = g["versions"][0]
        assert v["groupVersion"] == f"{g['name']}/{v['version']}", g


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
    assert doc["resources"] == expected_foo_resources()  # sorted by name, as served


@pytest.mark.parametrize("path", sorted(EXPECTED_BUILTIN_RESOURCES))
def test_builtin_group_versions_return_exact_resource_lists(server, path):
    need_builtins(server)
    group_version, resources = EXPECTED_BUILTIN_RESOURCES[path]
    r = server.request("GET", path)
    assert r.status == 200, r
    assert r.json() == {"kind": "APIResourceList", "apiVersion": "v1",
                        "groupVersion": group_version, "resources": resources}


def test_builtin_groups_return_api_group(server):
    need_builtins(server)
    for g in BUILTIN_GROUPS:
        entry = {"groupVersion": f"{g}/v1", "version": "v1"}
        r = server.request("GET", f"/apis/{g}")
        assert r.status == 200, r
        assert r.json() == {"kind": "APIGroup", "apiVersion": "v1", "name": g,
                            "versions": [entry], "preferredVersion": entry}


@pytest.mark.parametrize("path", [
    f"/apis/{GROUP}/v9", f"/apis/{GROUP}/v9/foos", f"/apis/{GROUP}/v9/foos/x",
    "/apis/unknown.example.com", "/apis/unknown.example.com/v1", "/api/v9", "/api/v9/events",
    f"/apis/{GROUP}/{VERSION}/nothings", f"/openapi/v3/apis/{GROUP}/v9", "/openapi/v3/apis",
])
def test_unknown_group_version_or_resource_is_404(server, path):
    r = server.request("GET", path)
    assert r.status == 404, r
    st = r.json()
    assert (st["kind"], st["reason"]) == ("Status", "NotFound"), st


# ---- aggregated discovery (items 4-6) ------------------------------------------------------


def test_apis_with_v2_accept_returns_aggregated_discovery(server):
    _, doc = aggregated(server, "/apis")
    names = [g["metadata"].get("name") for g in doc["items"]]
    assert names == [GROUP] + (BUILTIN_GROUPS if has_builtins(server) else []), names
    versions = doc["items"][0]["versions"]
    assert [(v["version"], v.get("freshness")) for v in versions] == [(VERSION, "Current")]
    assert versions[0]["resources"] == [expected_aggregated_foo()]


def test_aggregated_builtins_have_scope_short_names_categories_and_subresources(server):
    need_builtins(server)
    _, doc = aggregated(server, "/apis")
    by_group = {g["metadata"]["name"]: g["versions"] for g in doc["items"]}
    deploy = by_group["apps"][0]["resources"][0]
    assert deploy == {
        "resource": "deployments",
        "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "scope": "Namespaced", "singularResource": "deployment", "verbs": ALL_VERBS,
        "shortNames": ["deploy"], "categories": ["all"],
        "subresources": [
            {"subresource": "scale",
             "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
             "verbs": SUB_VERBS},
            {"subresource": "status",
             "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
             "verbs": SUB_VERBS},
        ],
    }
    lease = by_group["coordination.k8s.io"][0]["resources"][0]
    assert lease == {
        "resource": "leases",
        "responseKind": {"group": "coordination.k8s.io", "version": "v1", "kind": "Lease"},
        "scope": "Namespaced", "singularResource": "lease", "verbs": ALL_VERBS,
    }


def test_api_with_v2_accept_is_the_core_group_aggregated(server):
    need_builtins(server)
    r, doc = aggregated(server, "/api")
    assert r.headers.get("ETag")
    assert len(doc["items"]) == 1
    core = doc["items"][0]
    assert "name" not in core["metadata"], core["metadata"]  # the core group has no name
    assert [v["version"] for v in core["versions"]] == ["v1"]
    res = {e["resource"]: e for e in core["versions"][0]["resources"]}
    assert sorted(res) == ["events", "namespaces"]
    assert res["events"]["scope"] == "Namespaced" and res["events"]["shortNames"] == ["ev"]
    ns = res["namespaces"]
    assert (ns["scope"], ns["verbs"], ns["shortNames"]) == ("Cluster", NAMESPACE_VERBS, ["ns"])
    assert ns["subresources"] == [
        {"subresource": "status",
         "responseKind": {"group": "", "version": "v1", "kind": "Namespace"},
         "verbs": SUB_VERBS}]


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


@pytest.mark.parametrize("path", ["/apis", "/api"])
def test_aggregated_discovery_etag_gives_304(server, path):
    if path == "/api":
        need_builtins(server)
    r = server.request("GET", path, headers={"Accept": ACCEPT_V2})
    assert r.status == 200, r
    etag = r.headers.get("ETag")
    assert etag, "aggregated discovery must carry an ETag"
    r2 = server.request("GET", path, headers={"Accept": ACCEPT_V2, "If-None-Match": etag})
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


# ---- routing of the core group -------------------------------------------------------------


def test_namespaces_path_is_the_namespace_itself_and_its_resources(server):
    """kube's special case: /api/v1/namespaces/NAME[/status] is the namespace NAME, while
    /api/v1/namespaces/NAME/events are the events in NAME."""
    need_builtins(server)
    r = server.request("GET", "/api/v1/namespaces/default")
    assert r.status == 200, r
    assert (r.json()["kind"], r.json()["metadata"]["name"]) == ("Namespace", "default")
    r = server.request("GET", "/api/v1/namespaces/default/status")
    assert r.status == 200, r
    assert r.json()["kind"] == "Namespace"
    r = server.request("GET", "/api/v1/namespaces/default/events")
    assert r.status == 200, r
    assert r.json()["kind"] == "EventList"
    r = server.request("GET", "/api/v1/events")
    assert r.status == 200, r
    assert r.json()["kind"] == "EventList"


# ---- OpenAPI (items 9-13) ------------------------------------------------------------------


def served_group_versions(server):
    gvs = [f"apis/{API_VERSION}"]
    if has_builtins(server):
        gvs += ["apis/apps/v1", "api/v1", "apis/coordination.k8s.io/v1"]
    return gvs


def v3_documents(server):
    """{gv path: (hash, document)} of every entry of /openapi/v3, each fetched by its URL."""
    r = server.request("GET", "/openapi/v3")
    assert r.status == 200, r
    index = r.json()
    assert list(index) == ["paths"], index
    docs = {}
    for gv, entry in index["paths"].items():
        url = entry["serverRelativeURL"]
        m = re.fullmatch(rf"/openapi/v3/{re.escape(gv)}\?hash=([0-9A-F]{{128}})", url)
        assert m, url
        d = server.request("GET", url)
        assert d.status == 200, (url, d)
        assert d.headers["ETag"] == f'"{m.group(1)}"'
        assert "immutable" in d.headers.get("Cache-Control", "")
        docs[gv] = (m.group(1), d.json())
    return docs


def collect_refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.append(v)
            else:
                collect_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            collect_refs(v, out)
    return out


def test_openapi_v3_index_lists_every_group_version_with_its_hash(server):
    docs = v3_documents(server)
    assert sorted(docs) == sorted(served_group_versions(server))
    for gv, (_, doc) in docs.items():
        prefix = "/" + gv + "/"
        assert doc["openapi"] == "3.0.0"
        assert doc["paths"] and all(p.startswith(prefix) for p in doc["paths"]), gv
        schemas = doc["components"]["schemas"]
        for ref in collect_refs(doc, []):
            assert ref.startswith("#/components/schemas/"), ref
            assert ref.split("/")[-1] in schemas, (gv, ref)


def test_openapi_v3_wrong_hash_is_the_document_without_immutable(server):
    r = server.request("GET", f"/openapi/v3/apis/{API_VERSION}?hash=0000")
    assert r.status == 200, r
    assert "immutable" not in r.headers.get("Cache-Control", "")
    assert r.json()["paths"]


def test_openapi_v3_patch_of_every_kind_declares_field_validation_and_its_gvk(server):
    kinds = {f"apis/{API_VERSION}": [(f"{BASE}/foos/{{name}}", GROUP, VERSION, "Foo")]}
    if has_builtins(server):
        kinds["apis/apps/v1"] = [
            ("/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "apps", "v1",
             "Deployment")]
        kinds["api/v1"] = [
            ("/api/v1/namespaces/{namespace}/events/{name}", "", "v1", "Event"),
            ("/api/v1/namespaces/{name}", "", "v1", "Namespace")]
        kinds["apis/coordination.k8s.io/v1"] = [
            ("/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}",
             "coordination.k8s.io", "v1", "Lease")]
    docs = v3_documents(server)
    for gv, paths in kinds.items():
        doc = docs[gv][1]
        for path, group, version, kind in paths:
            patch = doc["paths"][path]["patch"]
            assert patch["x-kubernetes-group-version-kind"] == {
                "group": group, "version": version, "kind": kind}, path
            assert "fieldValidation" in [p["name"] for p in patch["parameters"]], path
            assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
            schema = patch["responses"]["200"]["content"]["application/json"]["schema"]
            target = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
            assert {"group": group, "version": version, "kind": kind} in \
                target["x-kubernetes-group-version-kind"], path


def test_openapi_v2_holds_every_path_in_json_and_protobuf(server):
    r = server.request("GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert r.status == 200, r
    v2 = r.json()
    assert v2["swagger"] == "2.0"
    every_v3_path = {p for _, doc in v3_documents(server).values() for p in doc["paths"]}
    assert set(v2["paths"]) == every_v3_path
    for ref in collect_refs(v2, []):
        assert ref.split("/")[-1] in v2["definitions"], ref
    pb = server.request("GET", "/openapi/v2", headers={"Accept": PROTO_V2})
    assert pb.status == 200, pb
    # kubectl 1.27 fails on the '@' media type in a Content-Type; kube-openapi sends this one.
    assert pb.headers["Content-Type"] == "application/octet-stream"
    assert pb.body.startswith(b"\x0a\x032.0")
    for path in v2["paths"]:
        assert path.encode() in pb.body, path


# ---- kubectl -------------------------------------------------------------------------------


def api_resources_rows(out):
    """kubectl api-resources output as dicts, cut at the header's column starts (SHORTNAMES may
    be empty, so splitting on blanks would shift the columns)."""
    lines = out.splitlines()
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [len(line) + 1])]
        rows.append(dict(zip(names, cells)))
    return rows


@pytest.mark.parametrize("kver", [None, "1.27", "1.33"])
def test_kubectl_api_resources_lists_every_kind(server, kver):
    out = ok(server.kubectl("api-resources", version=kver))
    rows = {r["NAME"]: r for r in api_resources_rows(out)}
    want = {"foos": ("fo", API_VERSION, "false", "Foo")}
    if has_builtins(server):
        want.update({
            "deployments": ("deploy", "apps/v1", "true", "Deployment"),
            "events": ("ev", "v1", "true", "Event"),
            "namespaces": ("ns", "v1", "false", "Namespace"),
            "leases": ("", "coordination.k8s.io/v1", "true", "Lease"),
        })
    for name, (short, api, namespaced, kind) in want.items():
        assert name in rows, out
        r = rows[name]
        assert (r["SHORTNAMES"], r["APIVERSION"], r["NAMESPACED"], r["KIND"]) == \
            (short, api, namespaced, kind), out


def test_kubectl_get_all_category_names_deployments(server):
    need_builtins(server)
    out = ok(server.kubectl("api-resources", "--categories=all", "-o", "name"))
    assert out.split() == ["deployments.apps"], out


@pytest.mark.parametrize("kver", ["1.27", "1.33"])
def test_kubectl_create_f_of_a_foo_works(server, kver):
    """kubectl 1.27 downloads /openapi/v2 as protobuf before create -f; 1.33 reads /openapi/v3."""
    out = ok(server.kubectl("create", "-f", str(SAMPLE), version=kver))
    assert "foo-example" in out and "created" in out, out
    assert server.get_foo("foo-example")["spec"]["image"] == "nginx:1.27"


@pytest.mark.parametrize("kver", ["1.27", "1.33"])
def test_kubectl_create_f_of_a_deployment_works(server, kver, tmp_path):
    need_builtins(server)
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
    }))
    out = ok(server.kubectl("create", "-f", str(manifest), version=kver))
    assert "deployment.apps/web created" in out, out

"""Delegated authentication and authorization (issue 9; api-contract §9.2, §9.3, checklist items
55, 66-70, 72): foo-apiserver without --standalone, with kube_double.KubeDouble standing in for
kube-apiserver (TokenReview, SubjectAccessReview, the extension-apiserver-authentication
ConfigMap) and kube_double.FrontProxy for the aggregator's proxy.

The first tests check the double itself, without foo-apiserver. Every other test starts its own
foo-apiserver against its own double; the double records each TokenReview and SAR, so the tests
assert what foo-apiserver asked as well as what it answered. Cache tests use TTLs of an hour
where a call must NOT repeat (no flake) and of a second where it must (waiting for the call, not
for the time).
"""

import base64
import http.client
import json
import queue
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

from conftest import (API_VERSION, BASE, FOOS, GROUP, KUBECTL_DISPATCHER, REQUEST_TIMEOUT_S,
                      SAMPLE, VERSION, Response, Server, foo_manifest, ok, send, wait_until)
from kube_double import (CONFIGMAP_GET, CONFIGMAP_LIST, CONFIGMAP_NAME, CONFIGMAP_WATCH,
                         CONFIGMAPS_PATH, SAR, SARS_PATH, TOKENREVIEW, TOKENREVIEWS_PATH,
                         FrontProxy, KubeDouble, _Handler, _start_server, _stop_server,
                         _TlsServer)

ALICE = "alice-token"  # may do anything
BOB = "bob-token"  # discovery only
ROOT = "root-token"  # in system:masters
ALICE_GROUPS = ["a", "b", "system:authenticated"]
ALICE_EXTRA = {"acme.com/project": ["p1"]}
DENY = "no RBAC policy matched"

POLICY = {
    "tokens": {
        ALICE: {"username": "alice", "uid": "alice-uid", "groups": ["a", "b"],
                "extra": ALICE_EXTRA},
        BOB: {"username": "bob", "uid": "bob-uid", "groups": ["viewers"]},
        ROOT: {"username": "root", "groups": ["system:masters"]},
    },
    "rules": [
        {"users": ["alice"], "verbs": ["*"], "resources": ["*"], "nonResourcePaths": ["*"]},
        # kube's system:discovery and system:public-info-viewer
        {"groups": ["system:authenticated"], "verbs": ["get"],
         "nonResourcePaths": ["/api", "/api/*", "/apis", "/apis/*", "/openapi/*", "/version",
                              "/version/"]},
        {"groups": ["system:authenticated", "system:unauthenticated"], "verbs": ["get"],
         "nonResourcePaths": ["/healthz", "/livez", "/readyz", "/version", "/version/"]},
    ],
    "denyReason": DENY,
}

LONG_TTL = "1h"
SHORT_TTL = "1s"
HEALTH_PATHS = ("/healthz", "/readyz", "/livez")
RESOURCE_KEYS = ("verb", "group", "version", "resource", "subresource", "name", "namespace")
CHANGE_TIMEOUT_S = 30.0  # a ConfigMap change or an expired cache entry must show within this


# --------------------------------------------------------------------------------------------
# Helpers


def forbidden_message(user, verb, resource, name=""):
    """kube-apiserver's 403 message for a resource request (AS responsewriters/errors.go)."""
    who = f'foos.{GROUP} "{name}"' if name else f"foos.{GROUP}"
    return (f'{who} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API '
            f'group "{GROUP}" at the cluster scope')


def resource_attributes(verb, subresource="", name="", namespace=""):
    return {"verb": verb, "group": GROUP, "version": VERSION, "resource": "foos",
            "subresource": subresource, "name": name, "namespace": namespace}


def attributes(spec):
    """A SAR spec's attributes with Go's omitted empty strings filled in."""
    ra, na = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    assert (ra is None) != (na is None), f"exactly one kind of attributes expected: {spec}"
    if ra is not None:
        return {k: ra.get(k, "") for k in RESOURCE_KEYS}
    return {"path": na.get("path", ""), "verb": na.get("verb", "")}


def subject(spec):
    """(user, groups, extra) of a SAR spec."""
    return spec.get("user", ""), spec.get("groups", []), spec.get("extra", {})


def request_with(srv, method, path, cert=None, token=None, headers=(), body=None,
                 timeout=REQUEST_TIMEOUT_S):
    """One request to srv presenting cert (a CertFiles or None) and an optional bearer token,
    with header lines (name, value) sent as given: a name may repeat."""
    ctx = ssl.create_default_context(cafile=str(srv.ca_file()))
    if cert is not None:
        ctx.load_cert_chain(str(cert.crt), str(cert.key))
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.putrequest(method, path)
        conn.putheader("Accept", "application/json")
        if token:
            conn.putheader("Authorization", f"Bearer {token}")
        if data is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(data)))
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(data)
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


# The front-proxy headers of checklist item 66.
ALICE_HEADERS = [("X-Remote-User", "alice"), ("X-Remote-Group", "a"), ("X-Remote-Group", "b"),
                 ("X-Remote-Extra-Acme.com%2Fproject", "p1")]


def only_sar(double):
    """The one SAR the double received since its last reset."""
    sars = double.sars()
    assert len(sars) == 1, sars
    return sars[0]


def assert_forbidden(r, message, name=None):
    assert r.status == 403, r
    st = r.json()
    assert (st["kind"], st["status"], st["reason"], st["code"]) == (
        "Status", "Failure", "Forbidden", 403), st
    assert st["message"] == message, st
    if name is not None:
        details = {"group": GROUP, "kind": "foos"}
        if name:
            details["name"] = name
        assert st.get("details") == details, st
    return st


def assert_unauthorized(r):
    assert r.status == 401, r
    st = r.json()
    assert (st["kind"], st["reason"], st["code"]) == ("Status", "Unauthorized", 401), st
    return st


# --------------------------------------------------------------------------------------------
# Fixtures


class DelegatedServer(Server):
    """foo-apiserver without --standalone: serving certificate of the double's CA, both
    kubeconfigs pointing at the double; "admin" requests present the double's system:masters
    client certificate (client CA), and self.kubeconfig says the same for kubectl."""

    defer_ready = False  # start() returns before /readyz passes (then call _wait_ready())

    def __init__(self, workdir, logdir, name, extra_args, double):
        super().__init__(workdir, logdir, name, extra_args)
        self.double = double
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.serving = double.serving_cert(f"foo-apiserver-{self.port}")
        self.kubeconfig = self.workdir / "kubeconfig"
        self._write_kubeconfig()

    def command(self):
        k = str(self.double.kubeconfig)
        return [str(self.binary),
                "--secure-port", str(self.port), "--bind-address", "127.0.0.1",
                "--tls-cert-file", str(self.serving.crt),
                "--tls-private-key-file", str(self.serving.key),
                "--data-dir", str(self.data_dir),
                "--authentication-kubeconfig", k, "--authorization-kubeconfig", k,
                "-v", "2"] + self.extra_args

    def ca_file(self):
        return self.double.ca.crt

    def _client_cert(self):
        return self.double.admin.crt, self.double.admin.key

    def _wait_ready(self):
        if not self.defer_ready:
            super()._wait_ready()

    def _write_kubeconfig(self):
        def b64(p):
            return base64.b64encode(p.read_bytes()).decode()
        kc = {"apiVersion": "v1", "kind": "Config", "current-context": "admin",
              "clusters": [{"name": "foo", "cluster": {
                  "server": self.url, "certificate-authority-data": b64(self.ca_file())}}],
              "users": [{"name": "admin", "user": {
                  "client-certificate-data": b64(self.double.admin.crt),
                  "client-key-data": b64(self.double.admin.key)}}],
              "contexts": [{"name": "admin", "context": {"cluster": "foo", "user": "admin"}}]}
        self.kubeconfig.write_text(yaml.safe_dump(kc))


@pytest.fixture
def double(tmp_path):
    d = KubeDouble(tmp_path / "double", POLICY).start()
    yield d
    d.stop()


@pytest.fixture
def make_delegated(make_server, double):
    """Factory: make_delegated(*flags) starts a DelegatedServer on this test's double."""
    def make(*flags):
        return make_server(*flags, server_class=DelegatedServer, double=double)
    return make


@pytest.fixture
def dserver(request, make_delegated):
    """A started DelegatedServer; extra flags from the server_args marker."""
    m = request.node.get_closest_marker("server_args")
    return make_delegated(*(m.args if m else ()))


@pytest.fixture
def proxy(dserver, double):
    p = FrontProxy(double, dserver.url).start()
    yield p
    p.stop()


# --------------------------------------------------------------------------------------------
# The double by itself


def _double_call(d, method, path, body=None, token="default"):
    """A call to the double with urllib (its own token unless told otherwise)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(d.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token == "default":
        token = d.token
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=str(d.ca.crt))
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _token_review(token):
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}}


def test_double_answers_token_reviews_from_its_policy(double):
    code, tr = _double_call(double, "POST", TOKENREVIEWS_PATH, _token_review(ALICE))
    assert code == 201, tr
    assert tr["kind"] == "TokenReview" and tr["status"]["authenticated"] is True, tr
    assert tr["status"]["user"] == {"username": "alice", "uid": "alice-uid",
                                    "groups": ALICE_GROUPS, "extra": ALICE_EXTRA}
    code, tr = _double_call(double, "POST", TOKENREVIEWS_PATH, _token_review("nobody"))
    assert code == 201, tr
    assert tr["status"] == {"user": {}}, tr  # kube leaves out "authenticated": false
    assert double.token_reviews() == [ALICE, "nobody"]
    double.reset()
    assert double.token_reviews() == []


def test_double_refuses_calls_without_its_own_token(double):
    code, st = _double_call(double, "POST", TOKENREVIEWS_PATH, _token_review(ALICE), token=None)
    assert (code, st["reason"]) == (401, "Unauthorized"), st
    code, st = _double_call(double, "GET", CONFIGMAPS_PATH, token=ALICE)
    assert code == 401, st
    assert double.calls() == [] and len(double.rejected_calls()) == 2


def test_double_answers_subject_access_reviews_from_its_policy(double):
    def sar(user, groups, **attrs):
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": user, "groups": groups, **attrs}}
        code, r = _double_call(double, "POST", SARS_PATH, body)
        assert code == 201, r
        return r["status"]

    list_foos = {"resourceAttributes": {"verb": "list", "group": GROUP, "version": VERSION,
                                        "resource": "foos"}}
    status_get = {"resourceAttributes": {"verb": "get", "group": GROUP, "resource": "foos",
                                         "subresource": "status", "name": "x"}}
    assert sar("alice", ALICE_GROUPS, **list_foos) == {"allowed": True}
    assert sar("alice", ALICE_GROUPS, **status_get) == {"allowed": True}
    assert sar("bob", ["system:authenticated"], **list_foos) == {"allowed": False,
                                                                 "reason": DENY}
    apis = {"nonResourceAttributes": {"path": "/apis/demo.example.com", "verb": "get"}}
    assert sar("bob", ["system:authenticated"], **apis) == {"allowed": True}
    metrics = {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}}
    assert sar("bob", ["system:authenticated"], **metrics)["allowed"] is False
    healthz = {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}
    assert sar("system:anonymous", ["system:unauthenticated"], **healthz)["allowed"] is True
    assert [attributes(s)["verb"] for s in double.sars()] == [
        "list", "get", "list", "get", "get", "get"]


class _Stream:
    """A chunked JSON-lines response read line by line."""

    def __init__(self, d, path):
        ctx = ssl.create_default_context(cafile=str(d.ca.crt))
        self.conn = http.client.HTTPSConnection("127.0.0.1", int(d.url.rsplit(":", 1)[1]),
                                                context=ctx, timeout=10)
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {d.token}"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200

    def next(self):
        line = self.resp.readline()
        return json.loads(line) if line else None

    def close(self):
        self.conn.close()


def test_double_serves_the_configmap_with_list_watch_and_changes(double):
    selector = f"fieldSelector=metadata.name%3D{CONFIGMAP_NAME}"
    code, lst = _double_call(double, "GET", f"{CONFIGMAPS_PATH}?{selector}")
    assert code == 200 and lst["kind"] == "ConfigMapList", lst
    rv = lst["metadata"]["resourceVersion"]
    [cm] = lst["items"]
    assert cm["metadata"]["name"] == CONFIGMAP_NAME and cm["metadata"]["resourceVersion"] == rv
    assert json.loads(cm["data"]["requestheader-allowed-names"]) == ["front-proxy-client"]
    assert json.loads(cm["data"]["requestheader-group-headers"]) == ["X-Remote-Group"]
    assert "BEGIN CERTIFICATE" in cm["data"]["client-ca-file"]
    assert cm["data"]["requestheader-client-ca-file"] == double.front_proxy_ca.pem()
    code, got = _double_call(double, "GET", f"{CONFIGMAPS_PATH}/{CONFIGMAP_NAME}")
    assert code == 200 and got["kind"] == "ConfigMap" and got["data"] == cm["data"], got

    w = _Stream(double, f"{CONFIGMAPS_PATH}?{selector}&watch=1&resourceVersion={rv}"
                        "&allowWatchBookmarks=true")
    assert w.next()["type"] == "BOOKMARK"
    old_ca = double.front_proxy_ca.pem()
    double.rotate_front_proxy_ca()
    ev = w.next()
    assert ev["type"] == "MODIFIED", ev
    assert ev["object"] == double.configmap()
    assert ev["object"]["data"]["requestheader-client-ca-file"] != old_ca
    assert ev["object"]["data"]["requestheader-client-ca-file"] == double.front_proxy_ca.pem()
    double.end_watches()
    assert w.next() is None  # a clean end of the stream
    w.close()

    # From an old resourceVersion the watch replays what happened since; without one it
    # starts with ADDED; timeoutSeconds ends it; a version older than the history is 410.
    w = _Stream(double, f"{CONFIGMAPS_PATH}?{selector}&watch=1&resourceVersion={rv}"
                        "&timeoutSeconds=1")
    assert w.next()["type"] == "MODIFIED"
    assert w.next() is None
    w.close()
    w = _Stream(double, f"{CONFIGMAPS_PATH}?{selector}&watch=1&timeoutSeconds=1")
    assert w.next()["type"] == "ADDED"
    assert w.next() is None
    w.close()
    w = _Stream(double, f"{CONFIGMAPS_PATH}?watch=1&resourceVersion=1")
    ev = w.next()
    assert ev["type"] == "ERROR" and ev["object"]["code"] == 410, ev
    w.close()
    assert double.count(CONFIGMAP_LIST) == 1 and double.count(CONFIGMAP_GET) == 1
    assert double.count(CONFIGMAP_WATCH) == 4


def test_double_fails_and_stalls_on_request(double):
    double.fail(TOKENREVIEW)
    code, st = _double_call(double, "POST", TOKENREVIEWS_PATH, _token_review(ALICE))
    assert (code, st["reason"]) == (500, "InternalError"), st
    double.fail(TOKENREVIEW, False)
    double.stall(SAR)
    done = queue.Queue()
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "alice", "nonResourceAttributes": {"path": "/", "verb": "get"}}}
    t = threading.Thread(target=lambda: done.put(_double_call(double, "POST", SARS_PATH, body)))
    t.start()
    double.wait_for_calls(SAR, 1)
    assert done.empty()  # held while stalled
    code, _ = _double_call(double, "POST", TOKENREVIEWS_PATH, _token_review(ALICE))
    assert code == 201  # other kinds go on
    double.stall(SAR, False)
    code, r = done.get(timeout=10)
    assert code == 201 and r["status"]["allowed"] is True, r
    t.join()


class _EchoHandler(_Handler):
    """Answers each request with what it received: headers (as lines) and the client
    certificate's subject; GET /stream answers three chunks."""

    def do_GET(self):
        self._echo()

    def do_POST(self):
        self._echo()

    def _echo(self):
        body = self.read_body()
        peer = self.connection.getpeercert()
        cn = None
        if peer:
            cn = dict(x[0] for x in peer["subject"]).get("commonName")
        seen = {"method": self.command, "path": self.path, "headers": self.headers.items(),
                "cn": cn, "body": body.decode()}
        if self.path == "/stream":
            self.start_chunked(200, "application/json")
            for i in range(3):
                self.write_chunk(json.dumps({"i": i}).encode() + b"\n")
            self.end_chunked()
            return
        self.send_json(200, seen)


def test_front_proxy_forwards_identity_headers_and_streams(double):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving = double.serving_cert("echo")
    ctx.load_cert_chain(str(serving.crt), str(serving.key))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(str(double.front_proxy_ca.crt))
    echo = _TlsServer(_EchoHandler, ctx, None)
    thread = _start_server(echo)
    proxy = FrontProxy(double, f"https://127.0.0.1:{echo.server_address[1]}").start()
    try:
        pctx = ssl.create_default_context(cafile=str(double.ca.crt))
        conn = http.client.HTTPSConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]),
                                           context=pctx, timeout=10)
        r = send(conn, "POST", "/x?a=b", {"k": 1},
                 headers={"Authorization": f"Bearer {ALICE}", "X-Remote-User": "mallory",
                          "X-Remote-Group": "system:masters"})
        assert r.status == 200, r
        seen = r.json()
        assert (seen["method"], seen["path"], seen["cn"]) == ("POST", "/x?a=b",
                                                              "front-proxy-client")
        assert json.loads(seen["body"]) == {"k": 1}
        lines = [(k.lower(), v) for k, v in seen["headers"]]
        assert [v for k, v in lines if k == "x-remote-user"] == ["alice"]
        assert [v for k, v in lines if k == "x-remote-uid"] == ["alice-uid"]
        assert [v for k, v in lines if k == "x-remote-group"] == ALICE_GROUPS
        assert [(k, v) for k, v in lines if k.startswith("x-remote-extra-")] == [
            ("x-remote-extra-acme.com%2fproject", "p1")]
        assert not [k for k, v in lines if k == "authorization"]
        # The same connection again (keep-alive), a streamed answer this time.
        r = send(conn, "GET", "/stream", headers={"Authorization": f"Bearer {ALICE}"})
        assert [json.loads(x) for x in r.body.splitlines()] == [{"i": 0}, {"i": 1}, {"i": 2}]
        conn.close()
        # No certificate when told so; an unknown token is refused by the proxy itself.
        proxy.identity = None
        r = send(conn, "GET", "/", headers={"Authorization": f"Bearer {ALICE}"})
        assert r.json()["cn"] is None
        conn.close()
        r = send(conn, "GET", "/", headers={"Authorization": "Bearer nobody"})
        assert r.status == 401, r
        conn.close()
    finally:
        proxy.stop()
        _stop_server(echo, thread)

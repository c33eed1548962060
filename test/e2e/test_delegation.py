"""Delegated authentication and authorization (issue 9; docs/api.md §9 and the checklist items
55, 66-72 of its §11): foo-apiserver without --standalone, with kube_double.KubeDouble standing
in for kube-apiserver (TokenReview, SubjectAccessReview, the extension-apiserver-authentication
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
import ssl
import subprocess
import threading
import urllib.error
import urllib.request

import pytest
import yaml

from conftest import (API_VERSION, BASE, FOOS, GROUP, KUBECTL_DISPATCHER, REQUEST_TIMEOUT_S,
                      SAMPLE, VERSION, Response, Server, foo_manifest, ok, send, wait_until)
from kube_double import (CONFIGMAP_GET, CONFIGMAP_LIST, CONFIGMAP_NAME, CONFIGMAP_WATCH,
                         CONFIGMAPS_PATH, SAR, SARS_PATH, TOKENREVIEW, TOKENREVIEWS_PATH,
                         FrontProxy, KubeDouble, Handler, start_server, stop_server,
                         TlsServer)

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
    """kube-apiserver's 403 message for a resource request (docs/api.md §9.6)."""
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

    def __init__(self, workdir, logdir, name, extra_args, double, defer_ready=False):
        super().__init__(workdir, logdir, name, extra_args)
        self.double = double
        self.defer_ready = defer_ready  # start() returns at once (then call _wait_ready())
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
def make_delegated(double, make_server):
    """Factory: make_delegated(*flags) starts a DelegatedServer on this test's double (set up
    first, so torn down after the servers)."""
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
    assert tr["status"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
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
    assert sar("alice", ALICE_GROUPS, **list_foos) == {
        "allowed": True, "reason": "allowed by rule 0 of the kube double's policy"}
    assert sar("alice", ALICE_GROUPS, **status_get)["allowed"] is True
    assert sar("bob", ["system:authenticated"], **list_foos) == {"allowed": False,
                                                                 "reason": DENY}
    apis = {"nonResourceAttributes": {"path": "/apis/demo.example.com", "verb": "get"}}
    assert sar("bob", ["system:authenticated"], **apis)["allowed"] is True
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


class _EchoHandler(Handler):
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
    echo = TlsServer(_EchoHandler, ctx, None)
    thread = start_server(echo)
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
        stop_server(echo, thread)


# --------------------------------------------------------------------------------------------
# foo-apiserver against the double: startup


def test_server_reads_the_configmap_with_the_kubeconfig_token(dserver, double):
    reads = double.calls(CONFIGMAP_LIST) + double.calls(CONFIGMAP_GET)
    assert reads, double.calls()
    assert double.rejected_calls() == []  # every call carried the kubeconfig's bearer token


def test_readyz_fails_until_the_configmap_was_read(double, make_server):
    double.fail(CONFIGMAP_LIST)
    double.fail(CONFIGMAP_GET)
    srv = make_server(server_class=DelegatedServer, double=double, defer_ready=True)
    wait_until(lambda: double.count(CONFIGMAP_LIST) + double.count(CONFIGMAP_GET) > 0,
               CHANGE_TIMEOUT_S, "foo-apiserver to try reading the ConfigMap")

    def readyz():
        try:
            return srv.request("GET", "/readyz", auth=None, timeout=5)
        except (OSError, ssl.SSLError, http.client.HTTPException):
            return None  # not listening yet

    r = wait_until(readyz, CHANGE_TIMEOUT_S, "an answer from /readyz")
    assert r.status != 200, r
    assert srv.request("GET", "/livez", auth=None).status == 200
    double.fail(CONFIGMAP_LIST, False)
    double.fail(CONFIGMAP_GET, False)
    srv.defer_ready = False
    srv._wait_ready()


def test_tls_asks_for_client_certificates_of_both_cas(dserver, double):
    """Item 68: the CertificateRequest names the client CA and the request-header CA."""
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{dserver.port}", "-servername",
         "localhost", "-CAfile", str(double.ca.crt)],
        input="", capture_output=True, text=True, timeout=30).stdout
    assert "Acceptable client certificate CA names" in out, out
    names = out.split("Acceptable client certificate CA names", 1)[1]
    assert double.client_ca.cn() in names, out
    assert double.front_proxy_ca.cn() in names, out


# --------------------------------------------------------------------------------------------
# Authentication


def test_front_proxy_identity_with_allowed_certificate_reaches_the_sar(dserver, double):
    """Item 66."""
    double.reset()
    r = request_with(dserver, "GET", FOOS, cert=double.proxy_good, headers=ALICE_HEADERS)
    assert r.status == 200, r
    spec = only_sar(double)
    assert subject(spec) == ("alice", ALICE_GROUPS, ALICE_EXTRA), spec
    assert attributes(spec) == resource_attributes("list")
    assert double.token_reviews() == []


def test_front_proxy_certificate_with_another_cn_is_401(dserver, double):
    """Item 67: a request-header CA certificate whose CN is not allowed fails authentication."""
    double.reset()
    assert_unauthorized(request_with(dserver, "GET", FOOS, cert=double.proxy_evil,
                                     headers=ALICE_HEADERS))
    assert double.sars() == []
    # kube's union of authenticators goes on past the certificate's error to the token (only
    # anonymous is refused after an error): the token's user, never the headers'.
    r = request_with(dserver, "GET", FOOS, cert=double.proxy_evil, token=BOB,
                     headers=ALICE_HEADERS)
    assert_forbidden(r, forbidden_message("bob", "list", "foos") + f": {DENY}")
    assert subject(only_sar(double)) == ("bob", ["viewers", "system:authenticated"], {})


def test_spoofed_remote_headers_without_proxy_certificate_are_ignored(dserver, double):
    """Item 67: no client certificate, so the X-Remote-* headers mean nothing."""
    double.reset()
    r = request_with(dserver, "GET", FOOS, headers=ALICE_HEADERS)
    assert_forbidden(r, forbidden_message("system:anonymous", "list", "foos") + f": {DENY}")
    assert subject(only_sar(double)) == ("system:anonymous", ["system:unauthenticated"], {})

    double.reset()
    r = request_with(dserver, "GET", FOOS, token=BOB, headers=ALICE_HEADERS)
    assert_forbidden(r, forbidden_message("bob", "list", "foos") + f": {DENY}")
    spec = only_sar(double)
    assert subject(spec) == ("bob", ["viewers", "system:authenticated"], {}), spec
    assert spec.get("uid") == "bob-uid", spec


def test_client_certificate_user_ignores_remote_headers(dserver, double):
    """A certificate of the client CA (not the request-header CA): CN and O are the identity."""
    double.reset()
    r = request_with(dserver, "GET", f"{FOOS}/x", cert=double.carol, headers=ALICE_HEADERS)
    assert_forbidden(r, forbidden_message("carol", "get", "foos", "x") + f": {DENY}", name="x")
    assert subject(only_sar(double)) == ("carol", ["devs", "system:authenticated"], {})
    assert double.token_reviews() == []


def test_group_lines_are_not_split_and_extra_values_collect(dserver, double):
    """Each group header line is one group (no comma splitting); extra keys are lower-cased
    and unescaped, repeated lines append values."""
    double.reset()
    headers = [("X-Remote-User", "alice"), ("X-Remote-Group", "a,b"), ("X-Remote-Group", "c"),
               ("X-Remote-Extra-Scopes", "x"), ("x-remote-extra-scopes", "y"),
               ("X-Remote-Extra-Example.org%2FTeam", "t1")]
    r = request_with(dserver, "GET", FOOS, cert=double.proxy_good, headers=headers)
    assert r.status == 200, r
    assert subject(only_sar(double)) == (
        "alice", ["a,b", "c", "system:authenticated"],
        {"scopes": ["x", "y"], "example.org/team": ["t1"]})


def test_websocket_watch_token_subprotocol_goes_through_token_review(dserver, double):
    """The upgrade cannot wait for kube-apiserver: while its reviews are not cached it is a 503
    with Retry-After, and the client's retry (a second later, as Retry-After says) is answered
    from the caches."""
    websocket = pytest.importorskip("websocket")
    token = base64.urlsafe_b64encode(ALICE.encode()).decode().rstrip("=")
    double.reset()

    def upgrade():
        try:
            return websocket.create_connection(
                f"wss://127.0.0.1:{dserver.port}{FOOS}?watch=true",
                sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(double.ca.crt)},
                subprotocols=[f"base64url.bearer.authorization.k8s.io.{token}",
                              "base64.binary.k8s.io"],
                timeout=10)
        except websocket.WebSocketBadStatusException as e:
            assert e.status_code == 503, e
            assert (e.resp_headers or {}).get("retry-after"), e.resp_headers
            return None

    ws = wait_until(upgrade, CHANGE_TIMEOUT_S, "the upgrade to be let through", interval=1.0)
    try:
        assert ws.getsubprotocol() == "base64.binary.k8s.io"
        dserver.create_foo("foo-ws")
        op, data = ws.recv_data()
        assert json.loads(data)["object"]["metadata"]["name"] == "foo-ws"
    finally:
        ws.close()
    assert set(double.token_reviews()) == {ALICE}
    sars = double.sars()
    assert sars, "no SAR"
    for spec in sars:
        assert subject(spec) == ("alice", ALICE_GROUPS, ALICE_EXTRA)
        assert attributes(spec) == resource_attributes("watch")


def test_token_allowed_denied_and_invalid(dserver, double):
    dserver.create_foo("x")
    double.reset()
    r = dserver.request("GET", f"{FOOS}/x", auth=ALICE)
    assert r.status == 200 and r.json()["metadata"]["name"] == "x", r
    spec = only_sar(double)
    assert subject(spec) == ("alice", ALICE_GROUPS, ALICE_EXTRA) and spec["uid"] == "alice-uid"
    assert double.token_reviews() == [ALICE]

    double.reset()
    assert_forbidden(dserver.request("GET", f"{FOOS}/x", auth=BOB),
                     forbidden_message("bob", "get", "foos", "x") + f": {DENY}", name="x")
    assert double.token_reviews() == [BOB] and len(double.sars()) == 1

    double.reset()
    assert_unauthorized(dserver.request("GET", f"{FOOS}/x", auth="not-a-token"))
    assert double.token_reviews() == ["not-a-token"] and double.sars() == []


@pytest.mark.parametrize("reason", [DENY, ""], ids=["with-reason", "without-reason"])
def test_anonymous_list_is_forbidden_with_kubes_message(make_delegated, double, reason):
    """Item 55; the SAR's reason follows ": " when it has one."""
    double.policy.deny_reason = reason
    srv = make_delegated()
    double.reset()
    r = srv.request("GET", FOOS, auth=None)
    message = forbidden_message("system:anonymous", "list", "foos") + (f": {reason}"
                                                                       if reason else "")
    assert_forbidden(r, message, name="")
    spec = only_sar(double)
    assert subject(spec) == ("system:anonymous", ["system:unauthenticated"], {})
    assert attributes(spec) == resource_attributes("list")


def test_forbidden_messages_for_names_subresources_and_paths(dserver, double):
    dserver.create_foo("x")
    assert_forbidden(dserver.request("GET", f"{FOOS}/x/status", auth=BOB),
                     forbidden_message("bob", "get", "foos/status", "x") + f": {DENY}",
                     name="x")
    assert_forbidden(dserver.request("DELETE", f"{FOOS}/x", auth=BOB),
                     forbidden_message("bob", "delete", "foos", "x") + f": {DENY}", name="x")
    st = assert_forbidden(dserver.request("GET", "/metrics", auth=BOB),
                          f'forbidden: User "bob" cannot get path "/metrics": {DENY}')
    assert not st.get("details"), st
    r = dserver.request("GET", "/apis", auth=BOB)  # discovery is allowed to every user
    assert r.status == 200, r


# --------------------------------------------------------------------------------------------
# Authorization


def test_health_paths_are_open_without_any_review(dserver, double):
    """Item 70: --authorization-always-allow-paths defaults to /healthz,/readyz,/livez."""
    double.reset()
    double.fail(SAR)  # proves no SAR is needed
    for path in HEALTH_PATHS:
        r = dserver.request("GET", path, auth=None)
        assert (r.status, r.body) == (200, b"ok"), (path, r)
    assert double.sars() == [] and double.token_reviews() == []


@pytest.mark.server_args("--authorization-always-allow-paths", "/healthz,/metrics")
def test_always_allow_paths_flag(dserver, double):
    double.reset()
    assert dserver.request("GET", "/metrics", auth=None).status == 200
    assert dserver.request("GET", "/healthz", auth=None).status == 200
    assert double.sars() == []
    r = dserver.request("GET", "/livez", auth=None)  # not listed any more: a SAR decides
    assert r.status == 200, r
    assert [attributes(s) for s in double.sars()] == [{"path": "/livez", "verb": "get"}]


@pytest.mark.parametrize("kind", [TOKENREVIEW, SAR])
def test_a_stalled_review_does_not_hold_other_requests(dserver, double, kind):
    """A request waiting for kube-apiserver's answer holds no one else up."""
    double.stall(kind)
    done = queue.Queue()
    t = threading.Thread(target=lambda: done.put(dserver.request("GET", FOOS, auth=ALICE)))
    t.start()
    try:
        double.wait_for_calls(kind, 1, timeout=CHANGE_TIMEOUT_S)
        for path in HEALTH_PATHS:
            assert dserver.request("GET", path, auth=None).status == 200
        assert dserver.request("GET", FOOS).status == 200  # system:masters needs no review
        assert done.empty()
    finally:
        double.stall(kind, False)
    assert done.get(timeout=REQUEST_TIMEOUT_S).status == 200
    t.join()


def test_system_masters_bypass_the_sar(dserver, double):
    """Item 70: a client certificate with O=system:masters, a token whose user is in it, and
    the front proxy's headers saying so."""
    double.reset()
    assert dserver.request("GET", FOOS).status == 200  # double.admin: O=system:masters
    assert dserver.request("GET", FOOS, auth=ROOT).status == 200
    r = request_with(dserver, "GET", FOOS, cert=double.proxy_good,
                     headers=[("X-Remote-User", "ops"), ("X-Remote-Group", "system:masters")])
    assert r.status == 200, r
    assert double.sars() == []
    assert double.token_reviews() == [ROOT]


def _put_body(srv, path, change):
    """What a PUT sends: the object as it is now (read as admin: no SAR), changed."""
    obj = srv.get_json(path)
    change(obj)
    return obj


def _sar_cases():
    """(label, method, path, body(srv) or None, expected attributes) for every verb and
    subresource (item 70; kube's request info, docs/api.md §9.6); "x" exists, "y" is created
    and deleted."""
    ra = resource_attributes

    def na(path):
        return {"path": path, "verb": "get"}

    def replicas(n):
        return lambda o: o["spec"].update(replicas=n)

    def status(n):
        return lambda o: o.update(status={"replicas": n})

    return [
        ("get", "GET", f"{FOOS}/x", None, ra("get", name="x")),
        ("list", "GET", FOOS, None, ra("list")),
        ("list by name", "GET", f"{FOOS}?fieldSelector=metadata.name%3Dx", None,
         ra("list", name="x")),
        ("watch", "GET", f"{FOOS}?watch=true&timeoutSeconds=1", None, ra("watch")),
        ("watch by name", "GET", f"{FOOS}?watch=1&fieldSelector=metadata.name%3Dx"
                                 "&timeoutSeconds=1", None, ra("watch", name="x")),
        ("create", "POST", FOOS, lambda s: foo_manifest("y"), ra("create")),
        ("update", "PUT", f"{FOOS}/x", lambda s: _put_body(s, f"{FOOS}/x", replicas(2)),
         ra("update", name="x")),
        ("patch", "PATCH", f"{FOOS}/x", lambda s: {"spec": {"replicas": 3}},
         ra("patch", name="x")),
        ("get status", "GET", f"{FOOS}/x/status", None, ra("get", "status", "x")),
        ("update status", "PUT", f"{FOOS}/x/status",
         lambda s: _put_body(s, f"{FOOS}/x/status", status(1)), ra("update", "status", "x")),
        ("patch status", "PATCH", f"{FOOS}/x/status", lambda s: {"status": {"replicas": 2}},
         ra("patch", "status", "x")),
        ("get scale", "GET", f"{FOOS}/x/scale", None, ra("get", "scale", "x")),
        ("update scale", "PUT", f"{FOOS}/x/scale",
         lambda s: _put_body(s, f"{FOOS}/x/scale", replicas(4)), ra("update", "scale", "x")),
        ("patch scale", "PATCH", f"{FOOS}/x/scale", lambda s: {"spec": {"replicas": 5}},
         ra("patch", "scale", "x")),
        ("bar", "POST", f"{FOOS}/x/bar",
         lambda s: {"apiVersion": API_VERSION, "kind": "FooBar"}, ra("create", "bar", "x")),
        ("delete", "DELETE", f"{FOOS}/y", None, ra("delete", name="y")),
        ("deletecollection", "DELETE", f"{FOOS}?labelSelector=none%3Dhere", None,
         ra("deletecollection")),
        ("/apis", "GET", "/apis", None, na("/apis")),
        ("/apis/G", "GET", f"/apis/{GROUP}", None, na(f"/apis/{GROUP}")),
        ("/apis/G/V", "GET", BASE, None, na(BASE)),
        ("/openapi/v2", "GET", "/openapi/v2", None, na("/openapi/v2")),
        ("/version", "GET", "/version", None, na("/version")),
        ("/metrics", "GET", "/metrics", None, na("/metrics")),
        ("/readyz/ping", "GET", "/readyz/ping", None, na("/readyz/ping")),
    ]


def _run_sar_case(srv, double, method, path, body):
    payload = body(srv) if body else None
    headers = {}
    if method == "PATCH":
        headers["Content-Type"] = "application/merge-patch+json"
        payload = json.dumps(payload)
    double.reset()
    r = srv.request(method, path, payload, headers=headers, auth=ALICE)
    return r, double.sars()


def test_sar_attributes_are_exact_for_every_verb_and_subresource(dserver, double):
    dserver.create_foo("x")
    wrong = []
    for label, method, path, body, want in _sar_cases():
        r, sars = _run_sar_case(dserver, double, method, path, body)
        if not 200 <= r.status < 300:
            wrong.append(f"{label}: {method} {path} answered {r}")
        elif len(sars) != 1:
            wrong.append(f"{label}: {len(sars)} SARs: {sars}")
        elif attributes(sars[0]) != want:
            wrong.append(f"{label}: SAR attributes {attributes(sars[0])}, want {want}")
        elif subject(sars[0]) != ("alice", ALICE_GROUPS, ALICE_EXTRA):
            wrong.append(f"{label}: SAR subject {subject(sars[0])}")
    assert not wrong, "\n".join(wrong)


def test_sar_of_the_namespaced_scale_path_has_the_namespace(dserver, double):
    """The HPA's path /apis/G/V/namespaces/NS/foos/NAME/scale: kube's request info puts NS into
    the attributes."""
    dserver.create_foo("x")
    r, sars = _run_sar_case(dserver, double, "GET", f"{BASE}/namespaces/hpa-ns/foos/x/scale",
                            None)
    assert r.status == 200, r
    assert [attributes(s) for s in sars] == [resource_attributes("get", "scale", "x", "hpa-ns")]


# --------------------------------------------------------------------------------------------
# Caches (item 69)


@pytest.mark.server_args("--authentication-token-webhook-cache-ttl", LONG_TTL)
def test_token_reviews_are_cached_for_their_ttl(dserver, double):
    double.reset()
    for _ in range(3):
        assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    for _ in range(2):
        assert_unauthorized(dserver.request("GET", FOOS, auth="not-a-token"))
    assert double.token_reviews() == [ALICE, "not-a-token"]
    # The token's removal from the policy is not seen within the TTL.
    del double.policy.tokens[ALICE]
    assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    assert double.token_reviews() == [ALICE, "not-a-token"]


@pytest.mark.server_args("--authorization-webhook-cache-authorized-ttl", LONG_TTL,
                         "--authorization-webhook-cache-unauthorized-ttl", LONG_TTL)
def test_sars_are_cached_for_their_ttl(dserver, double):
    double.reset()
    for _ in range(3):
        assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    for _ in range(2):
        assert dserver.request("GET", FOOS, auth=BOB).status == 403
    assert [subject(s)[0] for s in double.sars()] == ["alice", "bob"]
    # Other attributes are another entry.
    assert dserver.request("GET", f"{FOOS}?watch=1&timeoutSeconds=1", auth=ALICE).status == 200
    assert len(double.sars()) == 3
    # Taking alice's rights away is not seen within the TTL.
    double.policy.rules = double.policy.rules[1:]
    assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    assert len(double.sars()) == 3


@pytest.mark.server_args("--authentication-token-webhook-cache-ttl", SHORT_TTL)
def test_token_review_is_repeated_after_a_short_ttl(dserver, double):
    double.reset()
    assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    del double.policy.tokens[ALICE]
    r = wait_until(lambda: (lambda r: r if r.status == 401 else None)(
        dserver.request("GET", FOOS, auth=ALICE)), CHANGE_TIMEOUT_S,
        "the removed token to be rejected")
    assert_unauthorized(r)
    assert double.token_reviews().count(ALICE) >= 2


@pytest.mark.server_args("--authorization-webhook-cache-authorized-ttl", SHORT_TTL,
                         "--authorization-webhook-cache-unauthorized-ttl", SHORT_TTL)
def test_sar_is_repeated_after_a_short_ttl(dserver, double):
    double.reset()
    assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    rules = double.policy.rules
    double.policy.rules = rules[1:]  # alice loses her rights ...
    wait_until(lambda: dserver.request("GET", FOOS, auth=ALICE).status == 403,
               CHANGE_TIMEOUT_S, "alice's list to be denied")
    double.policy.rules = rules  # ... and gets them back
    wait_until(lambda: dserver.request("GET", FOOS, auth=ALICE).status == 200,
               CHANGE_TIMEOUT_S, "alice's list to be allowed again")
    assert len(double.sars()) >= 3


@pytest.mark.server_args("--authentication-token-webhook-cache-ttl", LONG_TTL,
                         "--authorization-webhook-cache-authorized-ttl", LONG_TTL,
                         "--authorization-webhook-cache-unauthorized-ttl", LONG_TTL)
def test_review_errors_deny_and_are_not_cached(dserver, double):
    """A failing TokenReview is a 401 and a failing SAR a 403 (never allowed, never a 500);
    neither failure is remembered."""
    double.fail(TOKENREVIEW)
    assert_unauthorized(dserver.request("GET", FOOS, auth=ALICE))
    double.fail(TOKENREVIEW, False)
    double.fail(SAR)
    r = dserver.request("GET", FOOS, auth=ALICE)
    assert r.status == 403, r
    assert r.json()["message"].startswith(forbidden_message("alice", "list", "foos")), r
    double.fail(SAR, False)
    assert dserver.request("GET", FOOS, auth=ALICE).status == 200


# --------------------------------------------------------------------------------------------
# The ConfigMap (item 72)


def _accepted(srv, double, cert):
    """Whether cert as a front proxy for alice gets 200 (and the SAR shows alice)."""
    double.reset()
    r = request_with(srv, "GET", FOOS, cert=cert, headers=ALICE_HEADERS)
    if r.status != 200:
        return False
    return all(subject(s)[0] == "alice" for s in double.sars())


def test_new_request_header_ca_takes_effect_without_restart(dserver, double):
    old = double.proxy_good
    assert _accepted(dserver, double, old)
    double.rotate_front_proxy_ca(publish=False)  # a new CA kube-apiserver has not published
    new = double.proxy_good
    assert_unauthorized(request_with(dserver, "GET", FOOS, cert=new, headers=ALICE_HEADERS))
    runs = dserver.runs
    double.set_configmap({"requestheader-client-ca-file": double.front_proxy_ca.pem()})
    wait_until(lambda: _accepted(dserver, double, new), CHANGE_TIMEOUT_S,
               "the re-issued proxy certificate to be accepted")
    assert_unauthorized(request_with(dserver, "GET", FOOS, cert=old, headers=ALICE_HEADERS))
    assert dserver.running() and dserver.runs == runs


def test_allowed_names_change_takes_effect_without_restart(dserver, double):
    assert_unauthorized(request_with(dserver, "GET", FOOS, cert=double.proxy_evil,
                                     headers=ALICE_HEADERS))
    double.set_configmap({"requestheader-allowed-names": json.dumps(["evil-proxy"])})
    wait_until(lambda: _accepted(dserver, double, double.proxy_evil), CHANGE_TIMEOUT_S,
               "evil-proxy to be allowed")
    assert_unauthorized(request_with(dserver, "GET", FOOS, cert=double.proxy_good,
                                     headers=ALICE_HEADERS))
    # An empty list allows every certificate of the request-header CA.
    double.set_configmap({"requestheader-allowed-names": "[]"})
    wait_until(lambda: _accepted(dserver, double, double.proxy_good), CHANGE_TIMEOUT_S,
               "any CN to be allowed")
    assert _accepted(dserver, double, double.proxy_evil)


def test_header_names_come_from_the_configmap(dserver, double):
    double.set_configmap({
        "requestheader-username-headers": json.dumps(["X-Who"]),
        "requestheader-group-headers": json.dumps(["X-Teams"]),
        "requestheader-extra-headers-prefix": json.dumps(["X-More-"]),
        "requestheader-uid-headers": json.dumps(["X-Who-Id"]),
    })
    headers = [("X-Who", "dave"), ("X-Who-Id", "dave-uid"), ("X-Teams", "t1"),
               ("X-Teams", "t2"), ("X-More-Acme.com%2Fproject", "p2"),
               ("X-Remote-User", "alice"), ("X-Remote-Group", "a")]

    def dave():
        double.reset()
        r = request_with(dserver, "GET", FOOS, cert=double.proxy_good, headers=headers)
        sars = double.sars()
        return r.status == 403 and len(sars) == 1 and sars[0].get("user") == "dave" and sars

    [spec] = wait_until(dave, CHANGE_TIMEOUT_S, "the ConfigMap's header names to be used")
    assert subject(spec) == ("dave", ["t1", "t2", "system:authenticated"],
                             {"acme.com/project": ["p2"]}), spec
    assert spec.get("uid") == "dave-uid", spec


@pytest.mark.parametrize("skip_lookup", [False, True], ids=["lookup", "skip-lookup"])
def test_ca_flags_are_used_instead_of_the_configmap(make_delegated, double, skip_lookup):
    """--client-ca-file and --requestheader-client-ca-file (with --requestheader-allowed-names)
    judge requests whatever the ConfigMap says; with --authentication-skip-lookup the ConfigMap
    is not read at all."""
    double.set_configmap({"requestheader-allowed-names": json.dumps(["nobody"]),
                          "client-ca-file": double.front_proxy_ca.pem()})
    flags = ["--client-ca-file", str(double.client_ca.crt),
             "--requestheader-client-ca-file", str(double.front_proxy_ca.crt),
             "--requestheader-allowed-names", "front-proxy-client"]
    if skip_lookup:
        flags.append("--authentication-skip-lookup")
    double.reset()
    srv = make_delegated(*flags)
    if skip_lookup:
        assert [c for c in double.calls() if c.kind.startswith("configmap")] == []
    assert _accepted(srv, double, double.proxy_good)
    assert_unauthorized(request_with(srv, "GET", FOOS, cert=double.proxy_evil,
                                     headers=ALICE_HEADERS))
    double.reset()
    r = request_with(srv, "GET", FOOS, cert=double.carol)
    assert r.status == 403, r
    assert subject(only_sar(double)) == ("carol", ["devs", "system:authenticated"], {})


def test_configmap_changes_are_seen_after_the_watch_ends(dserver, double):
    """kube-apiserver ends watches (timeouts, restarts); the server watches again."""
    wait_until(lambda: double.count(CONFIGMAP_WATCH) >= 1, CHANGE_TIMEOUT_S,
               "foo-apiserver to watch the ConfigMap")
    watches = double.count(CONFIGMAP_WATCH)
    double.end_watches()
    wait_until(lambda: double.count(CONFIGMAP_WATCH) > watches, CHANGE_TIMEOUT_S,
               "foo-apiserver to watch the ConfigMap again")
    double.rotate_front_proxy_ca()
    wait_until(lambda: _accepted(dserver, double, double.proxy_good), CHANGE_TIMEOUT_S,
               "the re-issued proxy certificate to be accepted")


def test_the_last_configmap_stays_while_its_source_fails(dserver, double):
    """After the first load, kube-apiserver going away (list and watch failing) changes
    nothing: the last CAs still judge requests and /readyz stays ready; once the source is back,
    changes are seen again."""
    double.fail(CONFIGMAP_LIST)
    double.fail(CONFIGMAP_GET)
    double.fail(CONFIGMAP_WATCH)
    double.reset()
    double.end_watches()
    wait_until(lambda: len([c for c in double.calls() if c.kind.startswith("configmap")]) >= 2,
               CHANGE_TIMEOUT_S, "foo-apiserver to try the ConfigMap again")
    assert _accepted(dserver, double, double.proxy_good)
    assert dserver.request("GET", "/readyz", auth=None).status == 200
    for kind in (CONFIGMAP_LIST, CONFIGMAP_GET, CONFIGMAP_WATCH):
        double.fail(kind, False)
    double.rotate_front_proxy_ca()
    # The retry may be a backoff step away (capped at 30 s).
    wait_until(lambda: _accepted(dserver, double, double.proxy_good), 2 * CHANGE_TIMEOUT_S,
               "the re-issued proxy certificate to be accepted")


# --------------------------------------------------------------------------------------------
# Real clients through the front proxy


def _proxy_kubeconfig(proxy, double, path, token=ALICE):
    ca = base64.b64encode(double.ca.crt.read_bytes()).decode()
    kc = {"apiVersion": "v1", "kind": "Config", "current-context": "proxy",
          "clusters": [{"name": "proxy", "cluster": {"server": proxy.url,
                                                     "certificate-authority-data": ca}}],
          "users": [{"name": "alice", "user": {"token": token}}],
          "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "alice"}}]}
    path.write_text(yaml.safe_dump(kc))
    return path


def test_kubectl_through_the_front_proxy(dserver, proxy, double, tmp_path):
    kc = _proxy_kubeconfig(proxy, double, tmp_path / "proxy-kubeconfig")

    def kubectl(*args):
        return subprocess.run([KUBECTL_DISPATCHER, "--kubeconfig", str(kc), "--cache-dir",
                               str(tmp_path / "kcache"), *args], capture_output=True, text=True,
                              timeout=60)

    double.reset()
    ok(kubectl("create", "-f", str(SAMPLE)))
    out = ok(kubectl("get", "foos"))
    assert "foo-example" in out, out
    out = ok(kubectl("get", "foo", "foo-example", "-o", "json"))
    assert json.loads(out)["spec"]["replicas"] == 1
    sars = double.sars()
    assert sars and all(subject(s) == ("alice", ALICE_GROUPS, ALICE_EXTRA) for s in sars), sars
    verbs = {attributes(s)["verb"] for s in sars}
    assert {"create", "list", "get"} <= verbs, sars
    assert double.token_reviews() == []  # the proxy authenticated alice, not foo-apiserver

    # A user the policy denies gets kube's 403 through the proxy.
    kc_bob = _proxy_kubeconfig(proxy, double, tmp_path / "bob-kubeconfig", token=BOB)
    cp = subprocess.run([KUBECTL_DISPATCHER, "--kubeconfig", str(kc_bob), "--cache-dir",
                         str(tmp_path / "kcache-bob"), "get", "foos"], capture_output=True,
                        text=True, timeout=60)
    assert cp.returncode != 0
    assert 'User "bob" cannot list resource "foos"' in cp.stderr, cp.stderr


def _through(proxy, double, path, token=ALICE):
    ctx = ssl.create_default_context(cafile=str(double.ca.crt))
    conn = http.client.HTTPSConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]),
                                       context=ctx, timeout=REQUEST_TIMEOUT_S)
    try:
        return send(conn, "GET", path, headers={"Authorization": f"Bearer {token}"})
    finally:
        conn.close()


def test_front_proxy_without_an_allowed_certificate(dserver, proxy, double):
    """The same proxy with the evil CN is refused; with no certificate its X-Remote-* headers
    are ignored and the request is anonymous."""
    proxy.identity = "evil"
    assert_unauthorized(_through(proxy, double, FOOS))
    proxy.identity = None
    double.reset()
    assert_forbidden(_through(proxy, double, FOOS),
                     forbidden_message("system:anonymous", "list", "foos") + f": {DENY}")
    assert subject(only_sar(double)) == ("system:anonymous", ["system:unauthenticated"], {})
    proxy.identity = "good"
    assert _through(proxy, double, FOOS).status == 200


def test_python_client_through_the_front_proxy(dserver, proxy, double, tmp_path):
    from kubernetes import config, dynamic, watch

    kc = _proxy_kubeconfig(proxy, double, tmp_path / "proxy-kubeconfig")
    api_client = config.new_client_from_config(config_file=str(kc))
    dyn = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    foos = dyn.resources.get(api_version=API_VERSION, kind="Foo")
    created = foos.create(body=foo_manifest("foo-py", replicas=2))
    assert created.spec.replicas == 2
    lst = foos.get()
    assert [i.metadata.name for i in lst.items] == ["foo-py"]
    # A watch streams through the proxy.
    foos.patch(name="foo-py", body={"spec": {"replicas": 3}},
               content_type="application/merge-patch+json")
    w = watch.Watch()
    seen = None
    for ev in w.stream(foos.get, serialize=False, timeout_seconds=10,
                       resource_version=lst.metadata.resourceVersion):
        seen = ev
        w.stop()
        break
    assert seen is not None and seen["type"] == "MODIFIED", seen
    assert seen["raw_object"]["spec"]["replicas"] == 3
    assert {subject(s)[0] for s in double.sars()} == {"alice"}


def _metric(srv, name):
    r = srv.request("GET", "/metrics")  # the admin: system:masters, no review
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


@pytest.mark.server_args("--authentication-token-webhook-cache-ttl", LONG_TTL,
                         "--authorization-webhook-cache-authorized-ttl", LONG_TTL)
def test_metrics_count_the_reviews_and_the_cache_hits(dserver, double):
    names = ["foo_apiserver_token_reviews_total", "foo_apiserver_token_review_cache_hits_total",
             "foo_apiserver_access_reviews_total", "foo_apiserver_access_review_cache_hits_total"]
    before = {n: _metric(dserver, n) for n in names}
    double.reset()
    for _ in range(3):
        assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    after = {n: _metric(dserver, n) - before[n] for n in names}
    assert after == {names[0]: len(double.token_reviews()), names[1]: 2,
                     names[2]: len(double.sars()), names[3]: 2}, after
    assert len(double.token_reviews()) == 1 and len(double.sars()) == 1


def test_front_proxy_requests_on_one_connection_keep_their_own_identity(dserver, double):
    """kube-apiserver keeps its connections: heads of several users, with bodies between them,
    travel on one TLS connection, and each request is judged by its own X-Remote-* lines."""
    double.reset()
    ctx = ssl.create_default_context(cafile=str(dserver.ca_file()))
    ctx.load_cert_chain(str(double.proxy_good.crt), str(double.proxy_good.key))
    conn = http.client.HTTPSConnection("127.0.0.1", dserver.port, context=ctx,
                                       timeout=REQUEST_TIMEOUT_S)
    foo = {"apiVersion": "demo.example.com/v1beta1", "kind": "Foo",
           "metadata": {"name": "keepalive"}, "spec": {"replicas": 1}}
    # (user, method, path, body, the answer the policy gives: alice may, bob may not)
    users = [("alice", "GET", FOOS, None, 200), ("bob", "POST", FOOS, foo, 403),
             ("alice", "POST", FOOS, foo, 201), ("bob", "GET", f"{FOOS}/keepalive", None, 403)]
    try:
        for user, method, path, body, want in users:
            data = json.dumps(body).encode() if body else None
            conn.putrequest(method, path)
            conn.putheader("X-Remote-User", user)
            conn.putheader("X-Remote-Group", f"{user}-group")
            if data:
                conn.putheader("Content-Type", "application/json")
                conn.putheader("Content-Length", str(len(data)))
            conn.endheaders(data)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == want, (user, method, resp.status)
    finally:
        conn.close()
    assert [subject(s)[:2] for s in double.sars()] == [
        (u, [f"{u}-group", "system:authenticated"]) for u, _, _, _, _ in users]


def test_front_proxy_with_hundreds_of_groups(dserver, double):
    """The long and the repeated: 400 group lines all reach the SAR, in order."""
    double.reset()
    groups = [f"group-{i:03d}" for i in range(400)]
    headers = [("X-Remote-User", "alice")] + [("X-Remote-Group", g) for g in groups]
    r = request_with(dserver, "GET", FOOS, cert=double.proxy_good, headers=headers)
    assert r.status == 200, r
    assert subject(only_sar(double))[1] == groups + ["system:authenticated"]


def test_reviews_are_retried_as_kube_retries_its_webhooks(dserver, double):
    """A kube-apiserver that answers 500 twice (restarting) costs the client a wait, not an
    error: the TokenReview and the SubjectAccessReview are each tried again with backoff."""
    double.reset()
    double.fail_next(TOKENREVIEW, 2)
    double.fail_next(SAR, 2)
    assert dserver.request("GET", FOOS, auth=ALICE).status == 200
    assert double.token_reviews() == [ALICE] * 3
    assert len(double.sars()) == 3


def test_front_proxy_with_a_long_user_name(dserver, double):
    """The long: a 4 KiB user name is read whole from the recorded head."""
    double.reset()
    name = "u" * 4096
    r = request_with(dserver, "GET", FOOS, cert=double.proxy_good,
                     headers=[("X-Remote-User", name), ("X-Remote-Group", "a")])
    assert r.status == 403, r  # the policy knows no such user
    assert subject(only_sar(double))[0] == name

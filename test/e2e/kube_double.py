"""A test double of kube-apiserver's delegation side, for foo-apiserver without --standalone.

This is NOT kube-apiserver: it is a small stand-in that answers exactly what a delegated
extension API server asks of kube-apiserver (docs/api.md §9 describes our side of it), so the
end-to-end tests can drive foo-apiserver's delegated authentication and authorization on
loopback:

- KubeDouble: HTTPS on 127.0.0.1 (random port) with its own CA, requiring a bearer token of its
  own on every call (401 otherwise), serving
    POST /apis/authentication.k8s.io/v1/tokenreviews         (TokenReview from the policy)
    POST /apis/authorization.k8s.io/v1/subjectaccessreviews  (SubjectAccessReview from the policy)
    GET  /api/v1/namespaces/kube-system/configmaps[?fieldSelector=metadata.name=...][&watch=1]
    GET  /api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication
  It writes a kubeconfig for foo-apiserver (--authentication-kubeconfig and
  --authorization-kubeconfig), counts and records every call, can be told to fail (500) or stall
  a kind of call, and changes the ConfigMap on request (watchers get MODIFIED).
- Pki: the certificates of the scenario (the double's CA and serving certificates, a front-proxy
  CA with the proxy's client certificates CN=front-proxy-client and CN=evil-proxy, a client CA
  with users carol (O=devs) and admin (O=system:masters)), made with python3-cryptography.
- Policy: tokens (token -> user) and a tiny RBAC-like rule list.
- FrontProxy: what kube-apiserver's aggregator does for a proxied request: authenticates its own
  client by bearer token (from the policy) and forwards the request to foo-apiserver over TLS
  with a front-proxy client certificate and X-Remote-User / X-Remote-Uid / X-Remote-Group /
  X-Remote-Extra-* headers, streaming the answer back (watches included). kubectl and
  python3-kubernetes work through it.

Wire details follow kube-apiserver where the C side could depend on them: fields with Go's
`omitempty` are left out when empty (a rejected token's TokenReview status has no
"authenticated" key; an empty subresource is absent from a SAR's resourceAttributes), list items
carry no kind/apiVersion, watch events are JSON lines in a chunked response, and the groups of an
authenticated user include system:authenticated as kube-apiserver's own authenticator adds it.

Run standalone for manual use: `python3 test/e2e/kube_double.py --help`.
"""

import argparse
import base64
import datetime
import http.client
import http.server
import ipaddress
import json
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIGMAP_NAMESPACE = "kube-system"
CONFIGMAP_NAME = "extension-apiserver-authentication"
CONFIGMAPS_PATH = f"/api/v1/namespaces/{CONFIGMAP_NAMESPACE}/configmaps"
CONFIGMAPS_WATCH_PATH = f"/api/v1/watch/namespaces/{CONFIGMAP_NAMESPACE}/configmaps"
TOKENREVIEWS_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
SARS_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"

# The kinds of call the double records, fails or stalls.
TOKENREVIEW = "tokenreview"
SAR = "sar"
CONFIGMAP_LIST = "configmap-list"
CONFIGMAP_WATCH = "configmap-watch"
CONFIGMAP_GET = "configmap-get"
OTHER = "other"
KINDS = (TOKENREVIEW, SAR, CONFIGMAP_LIST, CONFIGMAP_WATCH, CONFIGMAP_GET, OTHER)

PROXY_GOOD = "front-proxy-client"  # the CN kube-apiserver's --proxy-client-cert-file usually has
PROXY_EVIL = "evil-proxy"  # signed by the same front-proxy CA, but not an allowed name

AUTHENTICATED = "system:authenticated"
DEFAULT_DENY_REASON = "no RBAC policy matched"
KUBE_AUDIENCE = "https://kubernetes.default.svc.cluster.local"  # kube-apiserver's default
BOOKMARK_INTERVAL_S = 5.0

# Headers a proxy must not forward (RFC 9110 §7.6.1 and the proxy-* ones).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate"}


def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_object(code, reason, message):
    """A metav1.Status failure, as kube-apiserver answers errors."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


# --------------------------------------------------------------------------------------------
# Certificates


class CertFiles:
    """A certificate and its private key, as PEM files (crt, key) and in memory (cert, pkey)."""

    def __init__(self, crt, key, cert, pkey):
        self.crt = Path(crt)
        self.key = Path(key)
        self.cert = cert
        self.pkey = pkey

    def pem(self):
        return self.crt.read_text()

    def cn(self):
        """The subject's common name."""
        return self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


class Pki:
    """Makes CAs and certificates (EC P-256, valid from an hour ago for a day) under one dir."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _write(self, name, cert, pkey):
        crt = self.dir / f"{name}.crt"
        key = self.dir / f"{name}.key"
        crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(pkey.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        key.chmod(0o600)
        return CertFiles(crt, key, cert, pkey)

    @staticmethod
    def _builder(subject, issuer, public_key):
        now = datetime.datetime.now(datetime.timezone.utc)
        return (x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(issuer)
                .public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                               critical=False))

    def ca(self, name, cn):
        """A self-signed CA written to NAME.crt / NAME.key."""
        pkey = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        cert = (self._builder(subject, subject, pkey.public_key())
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                             crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .sign(pkey, hashes.SHA256()))
        return self._write(name, cert, pkey)

    def issue(self, ca, name, cn, orgs=(), server=False, sans=()):
        """A leaf signed by ca: a client certificate (CN=user, O=groups), or a serving one with
        DNS/IP subject alternative names when server is true."""
        pkey = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        b = (self._builder(x509.Name(attrs), ca.cert.subject, pkey.public_key())
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                          key_cert_sign=False, crl_sign=False,
                                          content_commitment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False,
                                          decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 ca.pkey.public_key()), critical=False))
        if sans:
            names = []
            for s in sans:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(s)))
                except ValueError:
                    names.append(x509.DNSName(s))
            b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return self._write(name, b.sign(ca.pkey, hashes.SHA256()), pkey)

    def serving(self, ca, name):
        """A serving certificate for loopback (localhost, 127.0.0.1, ::1)."""
        return self.issue(ca, name, name, server=True, sans=("localhost", "127.0.0.1", "::1"))


# --------------------------------------------------------------------------------------------
# Policy


class Policy:
    """Who is who (tokens) and who may do what (rules), as kube-apiserver's authenticators and
    RBAC would answer the double's TokenReviews and SubjectAccessReviews.

    The dict form (also the JSON file of the command line):
      {"tokens": {"TOKEN": {"username": "alice", "uid": "u1", "groups": ["a"],
                            "extra": {"acme.com/project": ["p1"]}}},
       "rules": [{"users": ["alice"], "groups": ["devs"], "verbs": ["get", "list"],
                  "apiGroups": ["demo.example.com"], "resources": ["foos", "foos/status"],
                  "nonResourcePaths": ["/apis", "/apis/*"]}],
       "denyReason": "no RBAC policy matched"}
    A rule applies to a user named in "users" or in one of "groups" ("*" = everybody); "*" in
    verbs, apiGroups (default ["*"]) or resources matches all, "foos/*" every subresource of
    foos, and a non-resource path ending in "*" matches by prefix (RBAC's nonResourceURLs).
    Groups in "tokens" are without system:authenticated; the TokenReview adds it. Tests may
    change tokens, rules and deny_reason while the double runs (each answer reads them once).
    """

    def __init__(self, tokens=None, rules=None, deny_reason=DEFAULT_DENY_REASON):
        self.tokens = dict(tokens or {})
        self.rules = list(rules or [])
        self.deny_reason = deny_reason

    @classmethod
    def from_dict(cls, d):
        return cls(d.get("tokens"), d.get("rules"), d.get("denyReason", DEFAULT_DENY_REASON))

    def user_for_token(self, token):
        """The TokenReview status.user for token (groups end with system:authenticated), or None."""
        u = self.tokens.get(token)
        if u is None:
            return None
        user = {"username": u["username"]}
        if u.get("uid"):
            user["uid"] = u["uid"]
        groups = list(u.get("groups", []))
        if AUTHENTICATED not in groups:
            groups.append(AUTHENTICATED)
        user["groups"] = groups
        if u.get("extra"):
            user["extra"] = {k: list(v) for k, v in u["extra"].items()}
        return user

    def authorize(self, spec):
        """(allowed, reason) for a SubjectAccessReview spec."""
        for i, rule in enumerate(self.rules):
            if _subject_matches(rule, spec) and _attributes_match(rule, spec):
                # kube's RBAC names what allowed it; the server must not show it anywhere
                return True, f"allowed by rule {i} of the kube double's policy"
        return False, self.deny_reason


def _subject_matches(rule, spec):
    users = rule.get("users", [])
    groups = rule.get("groups", [])
    if "*" in users or spec.get("user", "") in users:
        return True
    return "*" in groups or any(g in groups for g in spec.get("groups", []))


def _attributes_match(rule, spec):
    ra = spec.get("resourceAttributes")
    na = spec.get("nonResourceAttributes")
    if ra is not None:
        verb = ra.get("verb", "")
        resource = ra.get("resource", "")
        if ra.get("subresource"):
            resource += "/" + ra["subresource"]
        resources = rule.get("resources", [])
        return (_in(verb, rule.get("verbs", []))
                and _in(ra.get("group", ""), rule.get("apiGroups", ["*"]))
                and ("*" in resources or resource in resources
                     or resource.split("/")[0] + "/*" in resources))
    if na is not None:
        path = na.get("path", "")
        return _in(na.get("verb", ""), rule.get("verbs", [])) and any(
            p == "*" or p == path or (p.endswith("*") and path.startswith(p[:-1]))
            for p in rule.get("nonResourcePaths", []))
    return False


def _in(value, allowed):
    return "*" in allowed or value in allowed


# --------------------------------------------------------------------------------------------
# HTTP plumbing shared by the double and the proxy


class TlsServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server doing the TLS handshake in each connection's thread (a slow
    client cannot block accept), remembering open connections so stop() can cut them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler, ssl_context, owner):
        super().__init__(("127.0.0.1", 0), handler)
        self.ssl_context = ssl_context
        self.owner = owner
        self.conns = set()
        self.conns_lock = threading.Lock()

    def finish_request(self, request, client_address):
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # a failed handshake: nothing to serve
        with self.conns_lock:
            self.conns.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass  # the peer went away mid-request
        finally:
            with self.conns_lock:
                self.conns.discard(tls)
            tls.close()

    def cut_connections(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def start_server(server):
    """Serves server (a TlsServer) on a daemon thread; returns the thread for stop_server."""
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True)
    t.start()
    return t


def stop_server(server, thread):
    """Stops accepting, closes the listener and cuts the connections still open."""
    server.shutdown()
    server.server_close()
    server.cut_connections()
    thread.join(timeout=5)


class Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler with JSON and chunked-stream helpers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests read the records instead
        pass

    def read_body(self):
        """The request body (Content-Length or chunked), b"" when there is none."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_status(self, code, reason, message):
        self.send_json(code, status_object(code, reason, message))

    def start_chunked(self, code, content_type, extra_headers=()):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for k, v in extra_headers:
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")


# --------------------------------------------------------------------------------------------
# The double


class Call:
    """One request the double received: kind (KINDS), method, path, query (dict of first
    values), body (parsed JSON or None), authorized (it carried the double's token)."""

    def __init__(self, kind, method, path, query, body, authorized):
        self.kind = kind
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.authorized = authorized
        self.time = time.monotonic()

    def __repr__(self):
        return f"<Call {self.kind} {self.method} {self.path} {self.query} {self.body}>"


class KubeDouble:
    """The double (see the module docstring). start() makes the PKI and kubeconfig and listens;
    stop() ends every stream and connection. All methods are thread-safe."""

    def __init__(self, workdir, policy=None, allowed_names=(PROXY_GOOD,)):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.policy = policy if isinstance(policy, Policy) else Policy.from_dict(policy or {})
        self.token = "double-" + uuid.uuid4().hex  # what foo-apiserver must send us
        self.pki = Pki(self.workdir / "pki")
        self.ca = self.pki.ca("ca", "kube-double-ca")  # signs every serving certificate
        self.client_ca = self.pki.ca("client-ca", "kube-double-client-ca")
        self.carol = self.pki.issue(self.client_ca, "carol", "carol", orgs=("devs",))
        self.admin = self.pki.issue(self.client_ca, "admin", "admin", orgs=("system:masters",))
        self._proxy_generation = 0
        self.rotate_front_proxy_ca(publish=False)
        self.kubeconfig = self.workdir / "kubeconfig"
        self.url = None

        self._cond = threading.Condition()  # guards everything below; notified on any change
        self._calls = []
        self._failing = set()
        self._fail_next = {}  # kind -> how many more calls fail (fail_next)
        self._stalled = set()
        self._stopping = False
        self._watch_epoch = 0  # end_watches() bumps it: streams of an older epoch end
        self._rv = 100
        self._cm_uid = str(uuid.uuid4())
        self._cm_created = _now_rfc3339()
        self._cm_data = {}
        self._cm_history = []  # (rv, event type, object), oldest first
        with self._cond:
            self._set_configmap_locked(self.default_configmap_data(allowed_names), "ADDED")
        self._server = None
        self._thread = None

    # ---- lifecycle

    def start(self):
        """Listens on a random loopback port and writes the kubeconfig; returns self."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        serving = self.pki.serving(self.ca, "double")
        ctx.load_cert_chain(str(serving.crt), str(serving.key))
        self._server = TlsServer(_DoubleHandler, ctx, self)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._write_kubeconfig()
        self._thread = start_server(self._server)
        return self

    def stop(self):
        """Stops listening, releases stalled calls, ends watches and cuts open connections."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            stop_server(self._server, self._thread)
            self._server = None

    def _write_kubeconfig(self):
        ca = base64.b64encode(self.ca.crt.read_bytes()).decode()
        kc = {
            "apiVersion": "v1", "kind": "Config", "current-context": "double",
            "clusters": [{"name": "double", "cluster": {"server": self.url,
                                                        "certificate-authority-data": ca}}],
            "users": [{"name": "foo-apiserver", "user": {"token": self.token}}],
            "contexts": [{"name": "double", "context": {"cluster": "double",
                                                        "user": "foo-apiserver"}}],
        }
        self.kubeconfig.write_text(json.dumps(kc, indent=2) + "\n")  # JSON is YAML

    # ---- certificates

    def rotate_front_proxy_ca(self, publish=True):
        """A new front-proxy CA with fresh proxy certificates (self.proxy_good, self.proxy_evil);
        publish=True puts the new CA (alone) into the ConfigMap, which watchers see."""
        self._proxy_generation += 1
        g = self._proxy_generation
        self.front_proxy_ca = self.pki.ca(f"front-proxy-ca-{g}", f"kube-double-front-proxy-ca-{g}")
        self.proxy_good = self.pki.issue(self.front_proxy_ca, f"front-proxy-client-{g}",
                                         PROXY_GOOD)
        self.proxy_evil = self.pki.issue(self.front_proxy_ca, f"evil-proxy-{g}", PROXY_EVIL)
        if publish:
            self.set_configmap({"requestheader-client-ca-file": self.front_proxy_ca.pem()})
        return self.front_proxy_ca

    def serving_cert(self, name):
        """A loopback serving certificate signed by the double's CA (self.ca), e.g. for
        foo-apiserver's --tls-cert-file / --tls-private-key-file."""
        return self.pki.serving(self.ca, name)

    # ---- the ConfigMap

    def default_configmap_data(self, allowed_names=(PROXY_GOOD,)):
        """What kube-apiserver publishes: the CA bundles, and JSON-array strings for the rest."""
        return {
            "client-ca-file": self.client_ca.pem(),
            "requestheader-client-ca-file": self.front_proxy_ca.pem(),
            "requestheader-allowed-names": json.dumps(list(allowed_names)),
            "requestheader-username-headers": json.dumps(["X-Remote-User"]),
            "requestheader-group-headers": json.dumps(["X-Remote-Group"]),
            "requestheader-extra-headers-prefix": json.dumps(["X-Remote-Extra-"]),
        }

    def set_configmap(self, changes=None, replace=None):
        """Updates the ConfigMap's data (changes: keys to set, a None value deletes the key;
        replace: the whole new data) and pushes a MODIFIED event; returns the new
        resourceVersion (a string)."""
        with self._cond:
            data = dict(replace) if replace is not None else dict(self._cm_data)
            for k, v in (changes or {}).items():
                if v is None:
                    data.pop(k, None)
                else:
                    data[k] = v
            return self._set_configmap_locked(data, "MODIFIED")

    def _set_configmap_locked(self, data, event_type):
        self._rv += 1
        self._cm_data = data
        self._cm_history.append((self._rv, event_type, self._configmap_object_locked()))
        self._cond.notify_all()
        return str(self._rv)

    def configmap(self):
        """The current ConfigMap object (a copy)."""
        with self._cond:
            return self._configmap_object_locked()

    def _configmap_object_locked(self):
        return {
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": CONFIGMAP_NAME, "namespace": CONFIGMAP_NAMESPACE,
                         "uid": self._cm_uid, "resourceVersion": str(self._rv),
                         "creationTimestamp": self._cm_created},
            "data": dict(self._cm_data),
        }

    def end_watches(self):
        """Ends every open ConfigMap watch stream cleanly (as kube-apiserver does at its
        watch timeout); later watches are unaffected."""
        with self._cond:
            self._watch_epoch += 1
            self._cond.notify_all()

    # ---- records and switches

    def calls(self, kind=None):
        """Authorized calls received since the last reset, oldest first (optionally of one kind)."""
        with self._cond:
            return [c for c in self._calls if c.authorized and (kind is None or c.kind == kind)]

    def rejected_calls(self):
        """Calls refused with 401 because they lacked the double's bearer token."""
        with self._cond:
            return [c for c in self._calls if not c.authorized]

    def token_reviews(self):
        """The tokens of the TokenReviews received, in order."""
        return [(c.body or {}).get("spec", {}).get("token") for c in self.calls(TOKENREVIEW)]

    def sars(self):
        """The specs of the SubjectAccessReviews received, in order."""
        return [(c.body or {}).get("spec", {}) for c in self.calls(SAR)]

    def count(self, kind):
        return len(self.calls(kind))

    def reset(self):
        """Forgets the recorded calls (the ConfigMap, policy and switches stay)."""
        with self._cond:
            self._calls.clear()

    def fail(self, kind, on=True):
        """While on, calls of kind (KINDS) get 500 InternalError."""
        assert kind in KINDS, kind
        with self._cond:
            (self._failing.add if on else self._failing.discard)(kind)

    def fail_next(self, kind, n):
        """The next n calls of kind get 500 InternalError, then calls are answered again (a
        kube-apiserver that restarts)."""
        assert kind in KINDS, kind
        with self._cond:
            self._fail_next[kind] = n

    def stall(self, kind, on=True):
        """While on, calls of kind are held without an answer; off (or stop()) lets them go on."""
        assert kind in KINDS, kind
        with self._cond:
            (self._stalled.add if on else self._stalled.discard)(kind)
            self._cond.notify_all()

    def wait_for_calls(self, kind, n, timeout=10.0):
        """Waits until at least n calls of kind were recorded; returns them or raises
        TimeoutError (for tests that wait on the double rather than poll it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [c for c in self._calls if c.authorized and c.kind == kind]
                left = deadline - time.monotonic()
                if len(got) >= n:
                    return got
                if left <= 0:
                    raise TimeoutError(f"{len(got)} {kind} calls after {timeout}s, wanted {n}")
                self._cond.wait(left)

    # ---- used by the handler

    def _record(self, call):
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _hold_if_stalled(self, kind):
        """Blocks while kind is stalled; False when the double is stopping."""
        with self._cond:
            while kind in self._stalled and not self._stopping:
                self._cond.wait()
            return not self._stopping

    def _is_failing(self, kind):
        with self._cond:
            if self._fail_next.get(kind, 0) > 0:
                self._fail_next[kind] -= 1
                return True
            return kind in self._failing


def _classify(method, path, query):
    if method == "POST" and path == TOKENREVIEWS_PATH:
        return TOKENREVIEW
    if method == "POST" and path == SARS_PATH:
        return SAR
    if method == "GET" and path == f"{CONFIGMAPS_PATH}/{CONFIGMAP_NAME}":
        return CONFIGMAP_GET
    if method == "GET" and path in (CONFIGMAPS_WATCH_PATH,
                                    f"{CONFIGMAPS_WATCH_PATH}/{CONFIGMAP_NAME}"):
        return CONFIGMAP_WATCH
    if method == "GET" and path == CONFIGMAPS_PATH:
        return CONFIGMAP_WATCH if query.get("watch") in ("1", "true") else CONFIGMAP_LIST
    return OTHER


class _DoubleHandler(Handler):
    """Serves one connection of the double."""

    @property
    def double(self):
        return self.server.owner

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_PUT(self):
        self._serve()

    def do_PATCH(self):
        self._serve()

    def do_DELETE(self):
        self._serve()

    def _serve(self):
        d = self.double
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        raw = self.read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        kind = _classify(self.command, url.path, query)
        authorized = self.headers.get("Authorization", "") == f"Bearer {d.token}"
        d._record(Call(kind, self.command, url.path, query, body, authorized))
        if not authorized:
            self.send_status(401, "Unauthorized", "Unauthorized")
            return
        if not d._hold_if_stalled(kind):
            self.close_connection = True
            return
        if d._is_failing(kind):
            self.send_status(500, "InternalError",
                             "Internal error occurred: injected failure (kube double)")
            return
        if kind == TOKENREVIEW:
            self._token_review(body)
        elif kind == SAR:
            self._subject_access_review(body)
        elif kind == CONFIGMAP_GET:
            self.send_json(200, d.configmap())
        elif kind == CONFIGMAP_LIST:
            self._configmap_list(query)
        elif kind == CONFIGMAP_WATCH:
            self._configmap_watch(url.path, query)
        else:
            self.send_status(404, "NotFound", "the server could not find the requested resource")

    def _bad_review(self, body, kind, api_version):
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
            self.send_status(400, "BadRequest", f"the body is not a {kind}")
            return True
        if body.get("kind") != kind or body.get("apiVersion") != api_version:
            self.send_status(400, "BadRequest",
                             f"expected {api_version} {kind}, got {body.get('apiVersion')} "
                             f"{body.get('kind')}")
            return True
        return False

    def _token_review(self, body):
        if self._bad_review(body, "TokenReview", "authentication.k8s.io/v1"):
            return
        spec = body["spec"]
        user = self.double.policy.user_for_token(spec.get("token", ""))
        status = {"user": {}}  # kube: "authenticated" omitted (omitempty) when false
        if user is not None:
            # kube answers the audiences the token is good for: the asked ones, else its own
            status = {"authenticated": True, "user": user,
                      "audiences": list(spec.get("audiences") or [KUBE_AUDIENCE])}
        self.send_json(201, {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                             "metadata": {"creationTimestamp": None}, "spec": spec,
                             "status": status})

    def _subject_access_review(self, body):
        if self._bad_review(body, "SubjectAccessReview", "authorization.k8s.io/v1"):
            return
        spec = body["spec"]
        allowed, reason = self.double.policy.authorize(spec)
        status = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        self.send_json(201, {"kind": "SubjectAccessReview",
                             "apiVersion": "authorization.k8s.io/v1",
                             "metadata": {"creationTimestamp": None}, "spec": spec,
                             "status": status})

    @staticmethod
    def _selected(query, path):
        """Whether the ConfigMap matches the request's name (path or fieldSelector)."""
        if path.endswith("/" + CONFIGMAP_NAME):
            return True
        fs = query.get("fieldSelector", "")
        if not fs:
            return True
        return fs in (f"metadata.name={CONFIGMAP_NAME}", f"metadata.name=={CONFIGMAP_NAME}")

    def _configmap_list(self, query):
        cm = self.double.configmap()
        rv = cm["metadata"]["resourceVersion"]
        items = []
        if self._selected(query, CONFIGMAPS_PATH):
            del cm["kind"], cm["apiVersion"]  # list items carry neither
            items.append(cm)
        self.send_json(200, {"kind": "ConfigMapList", "apiVersion": "v1",
                             "metadata": {"resourceVersion": rv}, "items": items})

    def _configmap_watch(self, path, query):
        """Streams events newer than resourceVersion (or ADDED for the current object when it
        is absent or "0"), BOOKMARKs when asked, until timeoutSeconds, end_watches() or stop."""
        d = self.double
        rv_param = query.get("resourceVersion", "")
        try:
            since = int(rv_param) if rv_param not in ("", "0") else None
            timeout = float(query["timeoutSeconds"]) if "timeoutSeconds" in query else None
        except ValueError:
            self.send_status(400, "BadRequest", "invalid resourceVersion or timeoutSeconds")
            return
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        selected = self._selected(query, path)
        deadline = time.monotonic() + timeout if timeout is not None else None
        self.start_chunked(200, "application/json")
        self.close_connection = True
        with d._cond:
            epoch = d._watch_epoch
            oldest = d._cm_history[0][0]
            if since is None:
                pending = [("ADDED", d._configmap_object_locked())]
                since = d._rv
            elif since < oldest - 1:
                pending = [("ERROR", status_object(
                    410, "Expired", f"too old resource version: {since} ({oldest - 1})"))]
                since = None
            else:
                pending = [(t, o) for rv, t, o in d._cm_history if rv > since]
                since = max(since, d._rv)
        if since is None:  # expired: one ERROR event, then the end
            self._write_events(pending, True)
            self.end_chunked()
            return
        sent_bookmark_at = None
        while True:
            if not self._write_events(pending, selected):
                return
            now = time.monotonic()
            if bookmarks and (sent_bookmark_at is None
                              or now - sent_bookmark_at >= BOOKMARK_INTERVAL_S):
                bookmark = {"kind": "ConfigMap", "apiVersion": "v1",
                            "metadata": {"resourceVersion": str(since)}}
                if not self._write_events([("BOOKMARK", bookmark)], True):
                    return
                sent_bookmark_at = now
            with d._cond:
                while (d._rv <= since and not d._stopping and d._watch_epoch == epoch
                       and (deadline is None or time.monotonic() < deadline)):
                    wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
                    d._cond.wait(max(wait, 0.01))
                    if bookmarks and time.monotonic() - sent_bookmark_at >= BOOKMARK_INTERVAL_S:
                        break
                if d._stopping:
                    return  # cut, not ended: stop() closes the connection
                if d._watch_epoch != epoch or (deadline is not None
                                               and time.monotonic() >= deadline):
                    break
                pending = [(t, o) for rv, t, o in d._cm_history if rv > since]
                since = d._rv
        try:
            self.end_chunked()
        except OSError:
            pass

    def _write_events(self, events, selected):
        """Writes watch events as JSON lines (one chunk each); False when the client is gone."""
        try:
            for t, obj in events:
                if selected or t in ("BOOKMARK", "ERROR"):
                    self.write_chunk(json.dumps({"type": t, "object": obj}).encode() + b"\n")
            return True
        except OSError:
            return False


# --------------------------------------------------------------------------------------------
# The front proxy


class FrontProxy:
    """kube-apiserver's aggregator in miniature: HTTPS on 127.0.0.1 (random port, serving
    certificate of the double's CA), bearer-token clients (the double's policy; 401 otherwise),
    requests forwarded to target_url over TLS with a front-proxy client certificate and the
    identity in X-Remote-* headers (the client's Authorization and X-Remote-* headers dropped),
    answers streamed back. Only plain HTTP requests: no upgrades (exec, WebSocket).

    identity: which client certificate to present: "good" (CN=front-proxy-client), "evil"
    (CN=evil-proxy), None (none), or a CertFiles; settable at any time (read per request, so
    rotate_front_proxy_ca on the double takes effect at once)."""

    def __init__(self, double, target_url, target_ca=None, identity="good"):
        self.double = double
        u = urllib.parse.urlsplit(target_url)
        self.target_host = u.hostname
        self.target_port = u.port or 443
        self.target_ca = Path(target_ca) if target_ca else double.ca.crt
        self.identity = identity
        self.url = None
        self._server = None
        self._thread = None
        self._upstreams = set()
        self._lock = threading.Lock()

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        serving = self.double.serving_cert("front-proxy")
        ctx.load_cert_chain(str(serving.crt), str(serving.key))
        self._server = TlsServer(_ProxyHandler, ctx, self)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = start_server(self._server)
        return self

    def stop(self):
        if self._server is None:
            return
        with self._lock:
            ups = list(self._upstreams)
        for conn in ups:  # ends forwarded watches, so their client threads finish
            if conn.sock is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        stop_server(self._server, self._thread)
        self._server = None

    def client_cert(self):
        if self.identity == "good":
            return self.double.proxy_good
        if self.identity == "evil":
            return self.double.proxy_evil
        return self.identity  # None or a CertFiles

    def upstream(self):
        """A new TLS connection to the target with the current client certificate."""
        ctx = ssl.create_default_context(cafile=str(self.target_ca))
        cert = self.client_cert()
        if cert is not None:
            ctx.load_cert_chain(str(cert.crt), str(cert.key))
        conn = http.client.HTTPSConnection(self.target_host, self.target_port, context=ctx,
                                           timeout=None)
        with self._lock:
            self._upstreams.add(conn)
        return conn

    def release(self, conn):
        with self._lock:
            self._upstreams.discard(conn)
        conn.close()


def remote_headers(user):
    """The X-Remote-* header lines kube-apiserver sends for a user (a TokenReview user dict):
    a list of (name, value), one X-Remote-Group line per group, extra keys URL-escaped."""
    lines = [("X-Remote-User", user["username"])]
    if user.get("uid"):
        lines.append(("X-Remote-Uid", user["uid"]))
    lines += [("X-Remote-Group", g) for g in user.get("groups", [])]
    for key, values in user.get("extra", {}).items():
        name = "X-Remote-Extra-" + urllib.parse.quote(key, safe="")
        lines += [(name, v) for v in values]
    return lines


class _ProxyHandler(Handler):
    """Forwards one client connection's requests (see FrontProxy)."""

    def do_GET(self):
        self._forward()

    def do_HEAD(self):
        self._forward()

    def do_POST(self):
        self._forward()

    def do_PUT(self):
        self._forward()

    def do_PATCH(self):
        self._forward()

    def do_DELETE(self):
        self._forward()

    def do_OPTIONS(self):
        self._forward()

    def _forward(self):
        proxy = self.server.owner
        body = self.read_body()
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Bearer "):
            user = proxy.double.policy.user_for_token(auth[len("Bearer "):].strip())
        if user is None:
            self.send_status(401, "Unauthorized", "Unauthorized")
            return
        conn = proxy.upstream()
        try:
            try:
                resp = self._send_upstream(conn, proxy, user, body)
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                self.send_status(503, "ServiceUnavailable", f"error trying to reach service: {e}")
                return
            self._relay(resp)
        finally:
            proxy.release(conn)

    def _send_upstream(self, conn, proxy, user, body):
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"{proxy.target_host}:{proxy.target_port}")
        for name, value in self.headers.items():
            low = name.lower()
            if (low in HOP_BY_HOP or low in ("host", "authorization", "content-length", "expect")
                    or low.startswith("x-remote-")):
                continue
            conn.putheader(name, value)
        for name, value in remote_headers(user):
            conn.putheader(name, value)
        if body or self.command in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        return conn.getresponse()

    def _relay(self, resp):
        """Copies the answer back: with its Content-Length, or chunk by chunk as it arrives."""
        self.send_response_only(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for name, value in resp.getheaders():
            if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                continue
            self.send_header(name, value)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
        if no_body or length is not None:
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            if not no_body:
                self.wfile.write(resp.read())
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            data = resp.read1(65536)
            if not data:
                break
            self.write_chunk(data)
        self.end_chunked()


# --------------------------------------------------------------------------------------------
# Command line


DEFAULT_POLICY = {
    "tokens": {
        "alice-token": {"username": "alice", "uid": "alice-uid", "groups": ["a", "b"],
                        "extra": {"acme.com/project": ["p1"]}},
        "bob-token": {"username": "bob", "uid": "bob-uid", "groups": ["viewers"]},
    },
    "rules": [
        {"users": ["alice"], "verbs": ["*"], "resources": ["*"], "nonResourcePaths": ["*"]},
        {"groups": [AUTHENTICATED], "verbs": ["get"],
         "nonResourcePaths": ["/api", "/api/*", "/apis", "/apis/*", "/openapi/*", "/version",
                              "/version/"]},
        {"groups": [AUTHENTICATED, "system:unauthenticated"], "verbs": ["get"],
         "nonResourcePaths": ["/healthz", "/livez", "/readyz", "/version", "/version/"]},
    ],
}


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="A test double of kube-apiserver's delegation side (TokenReview, "
                    "SubjectAccessReview, the extension-apiserver-authentication ConfigMap) and "
                    "a front proxy, for running foo-apiserver without --standalone by hand.")
    ap.add_argument("--dir", required=True, help="where to write certificates and kubeconfig")
    ap.add_argument("--policy", help="policy JSON file (see Policy); default: alice-token may "
                                     "do anything, bob-token only discovery")
    ap.add_argument("--proxy-target", metavar="URL",
                    help="also run a front proxy to this foo-apiserver URL, e.g. "
                         "https://127.0.0.1:9443 (serving certificate from the double's CA)")
    args = ap.parse_args(argv)
    policy = json.loads(Path(args.policy).read_text()) if args.policy else DEFAULT_POLICY
    d = KubeDouble(args.dir, policy).start()
    serving = d.serving_cert("foo-apiserver")
    print(f"kube double on {d.url}\n"
          f"foo-apiserver --secure-port 9443 --bind-address 127.0.0.1 "
          f"--tls-cert-file {serving.crt} --tls-private-key-file {serving.key} "
          f"--data-dir DIR --authentication-kubeconfig {d.kubeconfig} "
          f"--authorization-kubeconfig {d.kubeconfig}\n"
          f"admin (system:masters) client certificate: {d.admin.crt} {d.admin.key}\n"
          f"front-proxy client certificate: {d.proxy_good.crt} {d.proxy_good.key}\n"
          f"CA of every serving certificate: {d.ca.crt}", flush=True)
    proxy = None
    if args.proxy_target:
        proxy = FrontProxy(d, args.proxy_target).start()
        print(f"front proxy on {proxy.url}: kubectl --server {proxy.url} "
              f"--certificate-authority {d.ca.crt} --token alice-token get foos", flush=True)
    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)  # a background job ignores SIGINT
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        if proxy:
            proxy.stop()
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

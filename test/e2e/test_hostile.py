"""Hostile clients (issue 6): one test per attack, each named after the item of the issue it
covers (items 1-7; "item1_class" tests cover the same class of bug as item 1: a parameter or
selector term that was ignored or read differently). Every test asserts the documented answer
and that nothing stored changed that should not have. The rules and limits are in
docs/hostile-input.md."""

import datetime
import json
import os
import pytest
import re
import socket
import ssl
import stat
import subprocess
import urllib.parse

from conftest import FOOS, LineReader, assert_failure, foo_manifest, labeled_foo, ok, wait_until


# ---- helpers --------------------------------------------------------------------------------

MAX_BODY = 3 * 1024 * 1024


def raw_exchange(server, data, timeout=20, ctx=None):
    """Sends raw bytes over TLS (admin client cert) and reads until the server closes.

    Returns (status, headers dict of lists with lower-case names, raw head bytes, body bytes);
    status is None when the server closed without answering.
    """
    ctx = ctx or server.ssl_context()
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as tcp:
        with ctx.wrap_socket(tcp, server_hostname="127.0.0.1") as s:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
            out = b""
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    out += b
            except (ConnectionResetError, ssl.SSLError, TimeoutError):
                pass
    return parse_response(out)


def parse_response(out):
    if b"\r\n\r\n" not in out:
        return None, {}, out, b""
    head, body = out.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.setdefault(name.decode().lower(), []).append(value.strip().decode("utf-8"))
    return status, headers, head, body


def status_of(body, code, reason):
    st = json.loads(body)
    assert (st["kind"], st["status"], st["code"], st["reason"]) == (
        "Status", "Failure", code, reason), st
    return st


def request_line(method, target, extra_headers=b"", body=b""):
    return (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
            f"Connection: close\r\n").encode() + extra_headers + b"\r\n" + body

# A real label selector of every operator kind, made about 4.4 KB long by terms that every Foo
# without those labels matches. URL-encoded as Go clients do: spaces as '+', '=' '!' '(' ','
# as %XX; lws decodes them before we see the query.
LONG_SELECTOR = "a in (x,y),!b,c!=d,e=f," + ",".join(f"padding-key-{i:03d}!=v" for i in range(260))

assert len(LONG_SELECTOR) > 4400

# name -> labels; the selector picks exactly f1 and f5.
SELECTOR_FOOS = {
    "f1": {"a": "x", "e": "f"},
    "f2": {"a": "y", "e": "f", "c": "d"},
    "f3": {"a": "x", "e": "f", "b": "1"},
    "f4": {"a": "z", "e": "f"},
    "f5": {"a": "y", "e": "f", "c": "q"},
}

SELECTED = ["f1", "f5"]


def create_selector_foos(server):
    for name, labels in SELECTOR_FOOS.items():
        r = server.request("POST", FOOS, labeled_foo(name, labels))
        assert r.status == 201, r


def send_chunked(server, body, chunk=65536):
    """POSTs body with Transfer-Encoding: chunked; returns (status, body) as the client reads
    them after sending everything (a reset before the answer fails the test)."""
    conn = server.connection(timeout=30)
    conn.putrequest("POST", FOOS)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Accept", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for i in range(0, len(body), chunk):
        piece = body[i:i + chunk]
        conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


def big_foo_body(name, size):
    obj = labeled_foo(name, {})
    obj["metadata"]["annotations"] = {"x": ""}
    overhead = len(json.dumps(obj).encode())
    obj["metadata"]["annotations"]["x"] = "a" * (size - overhead)
    body = json.dumps(obj).encode()
    assert len(body) == size
    return body

# Content-Length values, "{n}" standing for the body's real length. Before, lws (atoll) and the
# server (its own 32-byte copy, then atoll) could each read some of these as n, or differently.
BAD_LENGTHS = [
    ("40_digits", ["1" * 40], 413, "RequestEntityTooLarge"),
    ("plus_sign", ["+{n}"], 400, "BadRequest"),
    ("minus_sign", ["-1"], 400, "BadRequest"),
    ("hex", ["0x{n}"], 400, "BadRequest"),
    ("trailing_garbage", ["{n}abc"], 400, "BadRequest"),
    ("inner_space", ["{n} 0"], 400, "BadRequest"),
    ("exponent", ["{n}e0"], 400, "BadRequest"),
    ("empty", [""], 400, "BadRequest"),
    ("repeated_equal", ["{n}", "{n}"], 400, "BadRequest"),
    ("repeated_conflicting", ["{n}", "5"], 400, "BadRequest"),
    ("list", ["{n}, {n}"], 400, "BadRequest"),
]

BAD_ENCODINGS = [
    ("gzip_chunked", ["gzip, chunked"]),
    ("identity", ["identity"]),
    ("repeated", ["chunked", "chunked"]),
    ("chunked_twice", ["chunked, chunked"]),
]


def tls_client(server, maximum=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(server.data_dir / "pki" / "ca.crt"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    if maximum:
        ctx.maximum_version = maximum
    # Level 0 so that the client itself would offer TLS 1.0/1.1 and legacy ciphers.
    ctx.set_ciphers((ciphers or "ALL") + ":@SECLEVEL=0")
    return ctx


def handshake(server, ctx):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as tcp:
        with ctx.wrap_socket(tcp, server_hostname="127.0.0.1") as s:
            return s.version(), s.cipher()[0]


def short_lived_client_cert(server, seconds):
    """A client certificate of the standalone CA (CN=shortlived, O=system:masters) valid for
    `seconds` from now; returns (crt path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    pki = server.data_dir / "pki"
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                        "system:masters"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "shortlived")]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(seconds=seconds))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(ca_key, hashes.SHA256()))
    crt_path, key_path = server.workdir / "short.crt", server.workdir / "short.key"
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return crt_path, key_path


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)

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


def big_finalizer_list():
    """Valid finalizer names adding up to more than the stored-object bound (1.5 MiB), in a
    body well under the 3 MiB request limit, so the storage bound is what answers."""
    return [f"example.com/{'f' * 50}{i:06d}" for i in range(24000)]

# The same class as item 1: a selector term or a ListOptions value must never be ignored, or a
# deletecollection deletes more than it was asked to.
def names(server):
    return sorted(all_foos(server))

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


def billion_laughs():
    lines = ["apiVersion: demo.example.com/v1beta1", "kind: Foo",
             "metadata: {name: laughs}", "spec:", "  image: nginx", "  a0: &a0 [lol]"]
    for i in range(1, 10):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


# ---- item 1: long, repeated and unparsable parameters; every selector term counts ----------------


def test_item1_long_label_selector_is_read_in_full(server):
    create_selector_foos(server)
    q = urllib.parse.quote_plus(LONG_SELECTOR)
    items = server.get_json(f"{FOOS}?labelSelector={q}&limit=500")["items"]
    assert sorted(i["metadata"]["name"] for i in items) == SELECTED


def test_item1_long_label_selector_delete_dry_run_deletes_nothing(server):
    create_selector_foos(server)
    q = urllib.parse.quote_plus(LONG_SELECTOR)
    r = server.request("DELETE", f"{FOOS}?labelSelector={q}&dryRun=All")
    assert r.status == 200, r
    assert sorted(i["metadata"]["name"] for i in r.json()["items"]) == SELECTED
    assert names(server) == sorted(SELECTOR_FOOS)


def test_item1_long_label_selector_with_kubectl_get(server):
    create_selector_foos(server)
    out = ok(server.kubectl("get", "foos", "-l", LONG_SELECTOR, "-o", "name"))
    assert sorted(line.split("/")[-1] for line in out.split()) == SELECTED


def test_item1_long_label_selector_with_kubectl_delete_dry_run(server):
    # kubectl lists with the selector, then deletes each object by name with a DeleteOptions
    # body {"dryRun":["All"]}: both must be honoured.
    create_selector_foos(server)
    out = ok(server.kubectl("delete", "foos", "-l", LONG_SELECTOR, "--dry-run=server"))
    # 'foo.demo.example.com "f1" deleted (server dry run)'
    assert sorted(re.findall(r'"([^"]+)" deleted', out)) == SELECTED, out
    assert names(server) == sorted(SELECTOR_FOOS)


def test_item1_encoded_line_break_in_query_is_refused_not_cut(server):
    # lws ends the request line at a decoded CR or LF: the parameters after it were dropped,
    # and this dry-run delete of "app=a" deleted for real.
    server.request("POST", FOOS, labeled_foo("keep", {"app": "a"}))
    for enc in ("%0D", "%0A", "%0d%0a"):
        r = server.request("DELETE", f"{FOOS}?labelSelector=app%3Da{enc}&dryRun=All")
        assert_failure(r, 400, "BadRequest")
    # lws refuses an encoded NUL by closing the connection (it never calls the server).
    status, _, _, _ = raw_exchange(server, request_line(
        "DELETE", f"{FOOS}?labelSelector=app%3Da%00&dryRun=All"))
    assert status is None or status == 400
    assert names(server) == ["keep"]


def test_item1_parameter_repeated_with_another_value_is_refused(server):
    # The last value used to win: "?dryRun=All&dryRun=" deleted for real.
    server.request("POST", FOOS, labeled_foo("keep", {"app": "a"}))
    r = server.request("DELETE", f"{FOOS}?labelSelector=app%3Da&dryRun=All&dryRun=")
    assert_failure(r, 400, "BadRequest")
    assert names(server) == ["keep"]


def test_item1_encoded_line_break_in_path_is_refused_not_cut(server):
    # The path was cut at the CR: foos/keep%0D/status answered as foos/keep.
    server.request("POST", FOOS, labeled_foo("keep", {"app": "a"}))
    r = server.request("GET", f"{FOOS}/keep%0D/status")
    assert_failure(r, 400, "BadRequest")


def test_item1_query_part_over_32_kib_gets_414_and_changes_nothing(server):
    server.request("POST", FOOS, labeled_foo("keep", {"app": "a"}))
    q = urllib.parse.quote_plus("app=a," + ",".join(f"k{i}!=v" for i in range(6000)))
    assert len(q) > 32768
    r = server.request("DELETE", f"{FOOS}?labelSelector={q}&dryRun=All")
    assert_failure(r, 414, "BadRequest")
    assert names(server) == ["keep"]


def test_item1_two_query_parts_of_30_kib_are_read_in_full(server):
    # The whole request head may be close to 64 KiB: both parameters are read, the second
    # (an invalid selector) is what answers.
    first = "a" * 30000
    r = server.request("GET", f"{FOOS}?fieldSelector=metadata.name!%3D{first}"
                              f"&labelSelector=%21%21{'b' * 30000}")
    assert_failure(r, 400, "BadRequest")


def test_item1_request_head_over_64_kib_changes_nothing(server):
    # lws 4.1.6 closes the connection when the head does not fit its 64 KiB buffer (it calls
    # the server with nothing, so there is no answer to give); the request never runs.
    server.request("POST", FOOS, labeled_foo("keep", {"app": "a"}))
    parts = "&".join(f"x{i}=" + "v" * 30000 for i in range(3))
    status, _, _, _ = raw_exchange(server, request_line("DELETE", f"{FOOS}?{parts}"))
    assert status is None or 400 <= status < 500
    assert names(server) == ["keep"]


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


# ---- item 2: repeated JSON keys cannot forge server-owned fields ---------------------------------


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


# ---- item 3: response header injection -----------------------------------------------------------


def test_item3_field_name_with_crlf_cannot_add_a_response_header(server):
    obj = labeled_foo("inject", {})
    obj["spec"] = {"a\r\nSet-Cookie: x=1": 1, "b\nX-Injected: 1": 2, "c\x01\x7fd": 3}
    body = json.dumps(obj).encode()
    status, headers, head, _ = raw_exchange(server, request_line(
        "POST", FOOS, b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n".encode(), body))
    assert status == 201, head
    assert "set-cookie" not in headers and "x-injected" not in headers, head
    for line in head.split(b"\r\n")[1:]:
        assert all(c >= 0x20 or c == 0x09 for c in line), line
        assert line.split(b":")[0].lower() in (
            b"content-type", b"content-length", b"warning", b"connection", b"cache-control",
            b"location", b"audit-id"), line
    assert headers.get("warning"), head  # the unknown fields are still reported


def test_item3_warnings_are_deduplicated_and_capped_near_4_kib(server):
    # kube-apiserver: 4096 characters of warning text per response; past that every warning is
    # cut to 256 characters and later ones are dropped.
    obj = labeled_foo("many", {})
    obj["spec"] = {f"unknown-{i:03d}-" + "x" * 100: i for i in range(100)}
    r = server.request("POST", FOOS, obj)
    assert r.status == 201, r
    warnings = r.headers.get_all("Warning") or []
    assert 0 < len(warnings) < 100, len(warnings)
    texts = [w.split(" ", 2)[2] for w in warnings]
    assert all(w.startswith('299 - "') for w in warnings), warnings[:2]
    assert sum(len(t) - 2 for t in texts) <= 4096 + 256
    assert len(set(texts)) == len(texts)


# ---- item 4: what one request may build is bounded -----------------------------------------------


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


# ---- item 5: no quadratic work on the service thread ---------------------------------------------


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


# ---- item 6: bounds on a stored object, its labels and annotations -------------------------------


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


# ---- item 7: chunked and Content-Length framing, TLS, certificates, file modes, doubles ----------


def test_item7_chunked_body_over_3_mib_gets_413_the_client_can_read(server):
    status, body = send_chunked(server, big_foo_body("huge", 4 * 1024 * 1024))
    assert status == 413, body[:300]
    status_of(body, 413, "RequestEntityTooLarge")
    assert names(server) == []


def test_item7_chunked_body_just_over_3_mib_gets_413(server):
    status, body = send_chunked(server, big_foo_body("huge", MAX_BODY + 1), chunk=1000)
    assert status == 413, body[:300]
    status_of(body, 413, "RequestEntityTooLarge")
    assert names(server) == []


@pytest.mark.parametrize("name,values,code,reason", BAD_LENGTHS, ids=[b[0] for b in BAD_LENGTHS])
def test_item7_content_length_that_is_not_plain_digits_is_refused(server, name, values, code,
                                                                   reason):
    body = json.dumps(labeled_foo("cl", {})).encode()
    hdrs = b"Content-Type: application/json\r\n" + b"".join(
        f"Content-Length: {v.format(n=len(body))}\r\n".encode() for v in values)
    status, _, head, resp = raw_exchange(server, request_line("POST", FOOS, hdrs, body))
    assert status == code, head
    st = status_of(resp, code, reason)
    assert ("Content-Length" if code == 400 else "larger than") in st["message"], st
    assert names(server) == []


def test_item7_content_length_of_31_characters_cannot_smuggle_a_request(server):
    # lws reads a Content-Length of 31 characters or more as 0 (its copy does not fit 32 bytes)
    # and parses the body as the next request; the server read it as the body's length.
    server.request("POST", FOOS, labeled_foo("keep", {}))
    smuggled = (f"DELETE {FOOS}/keep HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Length: 0\r\n\r\n").encode()
    hdrs = (b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(smuggled):031d}\r\n".encode())
    status, _, head, resp = raw_exchange(server, request_line("POST", FOOS, hdrs, smuggled))
    assert status == 400, head
    status_of(resp, 400, "BadRequest")
    assert names(server) == ["keep"]


def test_item7_content_length_with_chunked_encoding_is_refused(server):
    body = json.dumps(labeled_foo("smuggled", {})).encode()
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    hdrs = (b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            + f"Content-Length: {len(chunked)}\r\n".encode())
    status, _, head, resp = raw_exchange(server, request_line("POST", FOOS, hdrs, chunked))
    assert status == 400, head
    status_of(resp, 400, "BadRequest")
    assert names(server) == []


@pytest.mark.parametrize("name,values", BAD_ENCODINGS, ids=[b[0] for b in BAD_ENCODINGS])
def test_item7_transfer_encoding_other_than_chunked_is_refused(server, name, values):
    body = json.dumps(labeled_foo("te", {})).encode()
    hdrs = b"Content-Type: application/json\r\n" + b"".join(
        f"Transfer-Encoding: {v}\r\n".encode() for v in values)
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    status, _, head, resp = raw_exchange(server, request_line("POST", FOOS, hdrs, chunked))
    assert status == 400, head
    assert "Transfer-Encoding" in status_of(resp, 400, "BadRequest")["message"]
    assert names(server) == []


def test_item7_chunked_in_any_case_with_trailing_space_is_decoded(server):
    body = json.dumps(labeled_foo("te", {})).encode()
    hdrs = b"Content-Type: application/json\r\nTransfer-Encoding: Chunked \r\n"
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    status, _, head, _ = raw_exchange(server, request_line("POST", FOOS, hdrs, chunked))
    assert status == 201, head
    assert names(server) == ["te"]


def test_item7_plain_content_length_still_works(server):
    body = json.dumps(labeled_foo("fine", {})).encode()
    hdrs = (b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}  \r\n".encode())
    status, _, head, _ = raw_exchange(server, request_line("POST", FOOS, hdrs, body))
    assert status == 201, head
    assert names(server) == ["fine"]


def test_item7_tls_1_1_client_is_refused(server):
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        handshake(server, tls_client(server, maximum=ssl.TLSVersion.TLSv1_1))


def test_item7_tls_1_2_without_ecdhe_and_aead_is_refused(server):
    for cipher in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"):
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            handshake(server, tls_client(server, ssl.TLSVersion.TLSv1_2, cipher))


def test_item7_tls_1_2_with_ecdhe_aead_and_tls_1_3_are_served(server):
    assert handshake(server, tls_client(server, ssl.TLSVersion.TLSv1_2,
                                        "ECDHE-ECDSA-AES128-GCM-SHA256")) == (
        "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert handshake(server, tls_client(server))[0] == "TLSv1.3"


def test_item7_tls_renegotiation_is_refused(server):
    # openssl s_client renegotiates when it reads "R" on a line of its own.
    pki = server.data_dir / "pki"
    p = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2",
         "-CAfile", str(pki / "ca.crt"), "-cert", str(pki / "admin.crt"),
         "-key", str(pki / "admin.key")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = LineReader(p.stdout)
        lines.wait_for(lambda line: "Verify return code" in line, 20, "the handshake")
        p.stdin.write("R\n")
        p.stdin.flush()
        lines.wait_for(lambda line: "no renegotiation" in line, 20,
                       "the server's no_renegotiation alert")
    finally:
        p.kill()
        p.wait()
    assert server.request("GET", FOOS).status == 200


def test_item7_client_cert_that_expires_mid_connection_gets_401(server):
    import http.client

    crt, key = short_lived_client_cert(server, seconds=3)
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "pki" / "ca.crt"))
    ctx.load_cert_chain(str(crt), str(key))
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
    try:
        conn.request("GET", FOOS, headers={"Accept": "application/json"})
        first = conn.getresponse()
        first.read()
        assert first.status == 200
        sock = conn.sock

        def refused_on_same_connection():
            conn.request("GET", FOOS, headers={"Accept": "application/json"})
            resp = conn.getresponse()
            body = resp.read()
            assert conn.sock is sock, "the connection was not kept alive"
            return (resp.status, body) if resp.status != 200 else None

        status, body = wait_until(refused_on_same_connection, 30,
                                  "a 401 once the client certificate expired", interval=0.2)
        assert status == 401, body
        status_of(body, 401, "Unauthorized")
    finally:
        conn.close()


@pytest.mark.sqlite_only
def test_item7_data_dir_is_0700_and_sqlite_file_0600(server):
    server.request("POST", FOOS, labeled_foo("x", {}))
    assert mode(server.data_dir) == 0o700
    for f in ("foo.db", "foo.db-wal", "foo.db-shm"):
        p = server.data_dir / f
        if p.exists():
            assert mode(p) == 0o600, f
    assert (server.data_dir / "foo.db").exists()


@pytest.mark.sqlite_only
def test_item7_existing_open_data_dir_and_sqlite_file_are_tightened(server):
    server.request("POST", FOOS, labeled_foo("x", {}))
    server.stop()
    os.chmod(server.data_dir, 0o755)
    os.chmod(server.data_dir / "foo.db", 0o644)
    server.start()
    assert mode(server.data_dir) == 0o700
    assert mode(server.data_dir / "foo.db") == 0o600
    assert names(server) == ["x"]


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


def test_item1_class_a_list_parameter_may_repeat(server):
    # /readyz?exclude=a&exclude=b is kube's way to skip several checks: exclude is a list.
    r = server.request("GET", "/readyz?verbose&exclude=ping&exclude=shutdown")
    assert r.status == 200, r
    assert b"[+]storage ok" in r.body, r.body
    assert b"ping" not in r.body and b"shutdown" not in r.body, r.body

#!/usr/bin/python3
"""The API reference of demo.example.com/v1beta1 as one HTML page, made from the OpenAPI document
that foo-apiserver serves (docs/api.md §3), in the manner of the Kubernetes API reference.

Usage:
  scripts/gen-api-docs.py --build BUILD_DIR OUT.html
      starts BUILD_DIR/foo-apiserver --standalone (a temp data dir, a free loopback port), reads
      GET /openapi/v3/apis/demo.example.com/v1beta1 with the admin client certificate, stops the
      server and writes the page (what `make docs` runs, into docs/api/index.html)
  scripts/gen-api-docs.py --openapi DOC.json OUT.html
      the page of a document saved earlier
  --save-openapi FILE (with --build) also keeps the document that was read.

The page:
  - Kinds: each kind an operation names (Foo, Scale, FooBar) and each kind a list operation
    returns (FooList), every one followed by the object types of its own package (FooSpec,
    FooStatus; ScaleSpec, ScaleStatus) and by the operations that serve it;
  - Operations: every path and method of the document with its parameters, the kind it takes and
    the kinds it returns;
  - Definitions: every other schema of the document (ObjectMeta, ListMeta, Status, ...).
Each schema has the anchor of its OpenAPI name (#com.example.demo.v1beta1.Foo), each field the
anchor NAME.FIELD, each operation the anchor of its operationId; every type links to its schema.

The output depends only on the document (no dates, no ports, no paths), so the committed page
changes only when the API does. Standard library only: Debian's /usr/bin/python3.
"""

import argparse
import html
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

GROUP = "demo.example.com"
VERSION = "v1beta1"
OPENAPI_PATH = f"/openapi/v3/apis/{GROUP}/{VERSION}"
SCHEMA_PREFIX = "#/components/schemas/"
# Common types of every Kubernetes API: listed under Definitions, not as types of a kind.
COMMON_PACKAGE = "io.k8s.apimachinery."
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")

READY_TIMEOUT_S = 60.0  # an ASan build starts slower
STOP_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 10.0

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1.5rem 4rem;
color:#1d1d1f}
h1{margin-top:2rem}h2{border-bottom:2px solid #326ce5;padding-bottom:.2rem;margin-top:3rem}
h3{margin:2.2rem 0 .3rem}h4{margin:1.6rem 0 .3rem}
a{color:#326ce5;text-decoration:none}a:hover{text-decoration:underline}
code{font:13px/1.4 ui-monospace,monospace;background:#f2f4f8;padding:0 .2rem;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}
th,td{border:1px solid #d8dde6;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2fa}td.name{white-space:nowrap}td.type{white-space:nowrap}
.note{color:#5f6368;font-size:13px;margin:.2rem 0}.req{color:#b3261e;font-size:12px}
.method{display:inline-block;min-width:4.2rem;font-weight:700;color:#326ce5}
nav ul{margin:.2rem 0}nav li{margin:.1rem 0}
"""


# ---------------------------------------------------------------------------------------------
# Reading the document from a server


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def https_get(url, context):
    """GET url; returns (status, body bytes). Raises OSError when there is no answer."""
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=context, timeout=REQUEST_TIMEOUT_S) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(proc, base_url, pki):
    """Waits until /readyz answers 200 (anonymous requests may read it); raises RuntimeError when
    the server exits first or the deadline passes."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"foo-apiserver exited with {proc.returncode} during start")
        if (pki / "ca.crt").exists():
            try:
                ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
                if https_get(base_url + "/readyz", ctx)[0] == 200:
                    return
            except (OSError, ssl.SSLError):
                pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"{base_url}/readyz did not answer 200 within {READY_TIMEOUT_S:.0f}s")


def stop(proc):
    """SIGTERM, as an operator would stop the server; SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fetch_openapi(build_dir):
    """Starts build_dir/foo-apiserver standalone on a temp data dir and returns the OpenAPI 3.0
    document of GROUP/VERSION as bytes. The server is stopped and its data removed in every case;
    on failure the tail of its log goes to stderr and RuntimeError is raised."""
    binary = Path(build_dir) / "foo-apiserver"
    if not binary.is_file():
        raise RuntimeError(f"{binary} does not exist: build it first (make build)")
    with tempfile.TemporaryDirectory(prefix="foo-api-docs.") as tmp:
        data = Path(tmp) / "data"
        log_path = Path(tmp) / "foo-apiserver.log"
        port = free_port()
        base_url = f"https://127.0.0.1:{port}"
        cmd = [str(binary), "--standalone", "--data-dir", str(data),
               "--secure-port", str(port), "--bind-address", "127.0.0.1"]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            pki = data / "pki"
            wait_ready(proc, base_url, pki)
            # The admin client certificate that --standalone made (also in DATA/kubeconfig).
            ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
            ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
            status, body = https_get(base_url + OPENAPI_PATH, ctx)
            if status != 200:
                raise RuntimeError(f"GET {OPENAPI_PATH}: {status} {body[:500]!r}")
            return body
        except (RuntimeError, OSError, ssl.SSLError):
            print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            stop(proc)


# ---------------------------------------------------------------------------------------------
# The document: schema references and which schema goes in which part of the page


def ref_target(schema):
    """The schema name a property or body refers to ($ref, or allOf with one $ref, the form kube
    uses to attach a description to a reference), or None."""
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if ref is None and len(schema.get("allOf", [])) == 1:
        ref = schema["allOf"][0].get("$ref")
    if ref and ref.startswith(SCHEMA_PREFIX):
        return ref[len(SCHEMA_PREFIX):]
    return None


def referenced_schemas(schema):
    """Names of the schemas that schema refers to directly, in document order."""
    out = []
    target = ref_target(schema)
    if target:
        out.append(target)
    for prop in schema.get("properties", {}).values():
        out += referenced_schemas(prop)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out += referenced_schemas(schema[key])
    return out


def reachable(schemas, roots):
    """roots and every schema reachable from them through references, in first-seen order."""
    seen, todo = [], list(roots)
    while todo:
        name = todo.pop(0)
        if name in seen or name not in schemas:
            continue
        seen.append(name)
        todo += referenced_schemas(schemas[name])
    return seen


def short_name(name):
    """com.example.demo.v1beta1.FooSpec -> FooSpec."""
    return name.rsplit(".", 1)[-1]


def package(name):
    """com.example.demo.v1beta1.FooSpec -> com.example.demo.v1beta1."""
    return name.rsplit(".", 1)[0]


def gvk_key(gvk):
    return (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))


def schemas_by_gvk(schemas):
    """{(group, version, kind): schema name} from each schema's x-kubernetes-group-version-kind."""
    out = {}
    for name, schema in schemas.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            out.setdefault(gvk_key(gvk), name)
    return out


def operations(doc):
    """[(path, method, operation, path-level parameters)] in document order."""
    out = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                out.append((path, method, op, item.get("parameters", [])))
    return out


def operation_kind(op, by_gvk):
    """The schema name of the kind an operation serves (its x-kubernetes-group-version-kind)."""
    gvk = op.get("x-kubernetes-group-version-kind")
    return by_gvk.get(gvk_key(gvk)) if isinstance(gvk, dict) else None


def kinds_of(doc, by_gvk):
    """The kinds of the page, in order of first appearance among the operations: the kind each
    operation serves, and the list kind each list operation returns."""
    kinds = []
    for _, _, op, _ in operations(doc):
        found = [operation_kind(op, by_gvk)]
        if op.get("x-kubernetes-action") == "list":
            for content in op.get("responses", {}).get("200", {}).get("content", {}).values():
                found.append(ref_target(content.get("schema")))
        for name in found:
            if name and name not in kinds:
                kinds.append(name)
    return kinds


def page_layout(doc):
    """([(kind, [its object types])], [definitions]): every schema of the document, once.

    A kind's object types are the schemas reachable from it in its own package that are no kind
    themselves (Foo: FooSpec, FooStatus); the definitions are the rest, sorted by short name."""
    schemas = doc.get("components", {}).get("schemas", {})
    kinds = kinds_of(doc, schemas_by_gvk(schemas))
    placed = set(kinds)
    layout = []
    for kind in kinds:
        own = [n for n in reachable(schemas, [kind])
               if n not in placed and package(n) == package(kind)
               and not n.startswith(COMMON_PACKAGE)]
        placed.update(own)
        layout.append((kind, own))
    definitions = sorted((n for n in schemas if n not in placed), key=lambda n: (short_name(n), n))
    return layout, definitions


# ---------------------------------------------------------------------------------------------
# HTML


def esc(text):
    return html.escape(str(text), quote=True)


def path_anchor(path):
    """The anchor of a path: /apis/demo.example.com/v1beta1/foos/{name} ->
    path-apis-demo-example-com-v1beta1-foos-name."""
    return "path-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


def link(name):
    return f'<a href="#{esc(name)}">{esc(short_name(name))}</a>'


def type_html(schema):
    """A property's type, Go style as the Kubernetes reference writes it: string, integer
    (int32), []Condition, map[string]string, with every schema name linked."""
    target = ref_target(schema)
    if target:
        return link(target)
    if schema.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    kind = schema.get("type", "object")
    if kind == "array":
        return "[]" + type_html(schema.get("items", {}))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + type_html(schema["additionalProperties"])
    fmt = schema.get("format")
    return esc(kind) + (f" ({esc(fmt)})" if fmt else "")


# Constraints shown under a description, in this order, with the schema's own key names.
CONSTRAINT_KEYS = (
    "enum", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "nullable", "readOnly",
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
    "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-embedded-resource",
)


def json_text(value):
    """A JSON value as compact, stable text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def constraints_html(schema):
    parts = [f"{esc(k)}: <code>{esc(json_text(schema[k]))}</code>"
             for k in CONSTRAINT_KEYS if k in schema]
    return f'<p class="note">{" · ".join(parts)}</p>' if parts else ""


def fields_table(name, schema):
    """One row per property: the anchor NAME.FIELD, type, default, description and constraints."""
    required = set(schema.get("required", []))
    rows = []
    for field, prop in schema.get("properties", {}).items():
        mark = ' <span class="req">required</span>' if field in required else ""
        default = f"<code>{esc(json_text(prop['default']))}</code>" if "default" in prop else ""
        rows.append(
            f'<tr id="{esc(name)}.{esc(field)}">'
            f'<td class="name"><a href="#{esc(name)}.{esc(field)}"><code>{esc(field)}</code></a>'
            f"{mark}</td>"
            f'<td class="type">{type_html(prop)}</td>'
            f'<td class="default">{default}</td>'
            f'<td class="desc">{esc(prop.get("description", ""))}{constraints_html(prop)}</td>'
            "</tr>")
    if not rows:
        return ""
    return ("<table><thead><tr><th>Field</th><th>Type</th><th>Default</th><th>Description</th>"
            "</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def schema_section(name, schema, level, served_by=()):
    """The section of one schema: heading, OpenAPI name, group/version/kind, description, fields
    (or, for a schema without properties, its type), and the operations that serve it."""
    out = [f'<section id="{esc(name)}">',
           f"<h{level}>{esc(short_name(name))}</h{level}>",
           f'<p class="note"><code>{esc(name)}</code></p>']
    for gvk in schema.get("x-kubernetes-group-version-kind", []):
        g, v, k = gvk_key(gvk)
        api_version = f"{g}/{v}" if g else v
        out.append(f'<p class="note">apiVersion: <code>{esc(api_version)}</code>, '
                   f"kind: <code>{esc(k)}</code></p>")
    if schema.get("description"):
        out.append(f"<p>{esc(schema['description'])}</p>")
    table = fields_table(name, schema)
    if table:
        out.append(table)
    else:
        out.append(f'<p>Type: <span class="type">{type_html(schema)}</span></p>')
    out.append(constraints_html(schema))
    if served_by:
        ops = ", ".join(f'<a href="#{esc(op["operationId"])}"><code>{esc(method.upper())} '
                        f"{esc(path)}</code></a>" for path, method, op in served_by)
        out.append(f"<p>Operations: {ops}</p>")
    out.append("</section>")
    return "\n".join(p for p in out if p)


def parameters_table(params):
    rows = []
    for p in params:
        req = "yes" if p.get("required") else "no"
        rows.append(f'<tr><td class="name"><code>{esc(p.get("name", ""))}</code></td>'
                    f"<td>{esc(p.get('in', ''))}</td>"
                    f'<td class="type">{type_html(p.get("schema", {}))}</td>'
                    f"<td>{req}</td><td>{esc(p.get('description', ''))}</td></tr>")
    return ("<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Required</th>"
            "<th>Description</th></tr></thead><tbody>\n" + "\n".join(rows) +
            "\n</tbody></table>")


def content_html(content):
    """The kinds of a request or response body, each with its media types."""
    by_kind = {}
    for media, body in content.items():
        by_kind.setdefault(type_html(body.get("schema", {})), []).append(media)
    return "; ".join(kind + " (" + ", ".join(f"<code>{esc(m)}</code>" for m in media) + ")"
                     for kind, media in by_kind.items())


def merged_parameters(path_params, op):
    """The parameters of an operation: those of its path, then its own; an operation's own
    parameter replaces the path's of the same name and place, as OpenAPI says."""
    own = op.get("parameters", [])
    keys = {(p.get("name"), p.get("in")) for p in own}
    return [p for p in path_params if (p.get("name"), p.get("in")) not in keys] + own


def operation_section(path, method, op, path_params, by_gvk):
    op_id = op.get("operationId", f"{method}-{path}")
    out = [f'<section class="op" id="{esc(op_id)}">',
           f'<h4><span class="method">{esc(method.upper())}</span> <code>{esc(path)}</code></h4>']
    if op.get("description"):
        out.append(f"<p>{esc(op['description'])}</p>")
    facts = [f"operationId <code>{esc(op_id)}</code>"]
    if op.get("x-kubernetes-action"):
        facts.append(f"action <code>{esc(op['x-kubernetes-action'])}</code>")
    kind = operation_kind(op, by_gvk)
    if kind:
        facts.append(f"kind {link(kind)}")
    out.append(f'<p class="note">{" · ".join(facts)}</p>')
    body = op.get("requestBody")
    if body:
        out.append(f"<p>Request body: {content_html(body.get('content', {}))}</p>")
    params = merged_parameters(path_params, op)
    if params:
        out.append(parameters_table(params))
    rows = []
    for code, resp in op.get("responses", {}).items():
        rows.append(f"<tr><td><code>{esc(code)}</code></td><td>{esc(resp.get('description', ''))}"
                    f"</td><td>{content_html(resp.get('content', {}))}</td></tr>")
    if rows:
        out.append("<table><thead><tr><th>Response</th><th>Meaning</th><th>Body</th></tr>"
                   "</thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def toc_html(layout, definitions, doc):
    def item(name, children=""):
        return f"<li>{link(name)}{children}</li>"

    kinds = []
    for kind, own in layout:
        sub = f"<ul>{''.join(item(n) for n in own)}</ul>" if own else ""
        kinds.append(item(kind, sub))
    paths = "".join(f'<li><a href="#{path_anchor(p)}"><code>{esc(p)}</code></a></li>'
                    for p in doc.get("paths", {}))
    defs = "".join(item(n) for n in definitions)
    return ('<nav><h2 id="contents">Contents</h2><ul>'
            f'<li><a href="#kinds">Kinds</a><ul>{"".join(kinds)}</ul></li>'
            f'<li><a href="#operations">Operations</a><ul>{paths}</ul></li>'
            f'<li><a href="#definitions">Definitions</a><ul>{defs}</ul></li>'
            "</ul></nav>")


def render(doc):
    """The whole page of an OpenAPI 3.0 document, as text; the same document gives the same
    text."""
    schemas = doc.get("components", {}).get("schemas", {})
    by_gvk = schemas_by_gvk(schemas)
    layout, definitions = page_layout(doc)
    ops = operations(doc)
    title = f"{GROUP}/{VERSION} API reference"
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{esc(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
           f"<h1>{esc(title)}</h1>",
           "<p>What foo-apiserver serves: the kinds of the group with every field, the operations "
           "on them, and the common definitions they use. Generated by "
           "<code>scripts/gen-api-docs.py</code> from the server's "
           f"<code>GET {esc(OPENAPI_PATH)}</code>; do not edit, run <code>make docs</code>. "
           "How the server behaves beyond what the schema says: <code>docs/api.md</code>.</p>",
           toc_html(layout, definitions, doc),
           '<h2 id="kinds">Kinds</h2>']
    for kind, own in layout:
        served_by = [(p, m, op) for p, m, op, _ in ops if operation_kind(op, by_gvk) == kind]
        out.append(schema_section(kind, schemas[kind], 3, served_by))
        out += [schema_section(n, schemas[n], 4) for n in own]
    out.append('<h2 id="operations">Operations</h2>')
    for path in doc.get("paths", {}):
        out.append(f'<h3 id="{path_anchor(path)}"><code>{esc(path)}</code></h3>')
        out += [operation_section(p, m, op, pp, by_gvk) for p, m, op, pp in ops if p == path]
    out.append('<h2 id="definitions">Definitions</h2>')
    out += [schema_section(n, schemas[n], 3) for n in definitions]
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------


def write_file(path, text):
    """Writes text to path through a temp file and a rename: a failed run leaves the old file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--build", metavar="BUILD_DIR", help="read the document from a server")
    src.add_argument("--openapi", metavar="DOC_JSON", help="read a saved document")
    ap.add_argument("--save-openapi", metavar="FILE", help="also write the document read")
    ap.add_argument("out", help="the HTML file to write")
    args = ap.parse_args(argv)
    try:
        raw = Path(args.openapi).read_bytes() if args.openapi else fetch_openapi(args.build)
        doc = json.loads(raw)
    except (RuntimeError, OSError, ValueError) as e:
        print(f"gen-api-docs: {e}", file=sys.stderr)
        return 1
    if args.save_openapi:
        Path(args.save_openapi).write_bytes(raw)
    write_file(args.out, render(doc))
    print(f"gen-api-docs: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The API reference page (docs/api/index.html, `make docs`, scripts/gen-api-docs.py) documents
everything the served OpenAPI document holds, and the committed page is the current one.

The document comes from a running server (GET /openapi/v3/apis/demo.example.com/v1beta1); the
page is rendered from it into a temp file and read back with html.parser, so the checks are on
what a reader sees in each section, not on the generator's code.
"""

import difflib
import json
import subprocess
from html.parser import HTMLParser

import pytest

from conftest import BASE, REPO, Server, build_dir, finish_servers

SCRIPT = REPO / "scripts" / "gen-api-docs.py"
COMMITTED = REPO / "docs" / "api" / "index.html"
PYTHON = "/usr/bin/python3"
OPENAPI = "/openapi/v3" + BASE
SCHEMA_PREFIX = "#/components/schemas/"
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
# The kinds whose schemas (and everything they refer to) the page must document in full.
ROOT_KINDS = [("demo.example.com", "v1beta1", "Foo"), ("demo.example.com", "v1beta1", "FooList"),
              ("demo.example.com", "v1beta1", "FooBar"), ("autoscaling", "v1", "Scale")]
# Foo's operations (docs/api.md §3.2): the list/create/deletecollection path, the object, its
# three subresources, and the deprecated watch paths.
FOO_PATHS = ["/foos", "/foos/{name}", "/foos/{name}/status", "/foos/{name}/scale",
             "/foos/{name}/bar", "/watch/foos", "/watch/foos/{name}"]


# --------------------------------------------------------------------------------------------
# Reading the page


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []
        self.content = []  # text (str) and child elements (Node), in document order

    def text(self):
        """Every text inside the element, in order, whitespace collapsed."""
        parts = []

        def walk(n):
            for item in n.content:
                if isinstance(item, str):
                    parts.append(item)
                else:
                    walk(item)
        walk(self)
        return " ".join("".join(parts).split())

    def find_all(self, pred):
        out = []
        for c in self.children:
            if pred(c):
                out.append(c)
            out += c.find_all(pred)
        return out

    def hrefs(self):
        return [n.attrs["href"] for n in self.find_all(lambda n: "href" in n.attrs)]

    def cell(self, cls):
        """The one descendant whose class is cls."""
        found = self.find_all(lambda n: n.attrs.get("class") == cls)
        assert len(found) == 1, f"{self.attrs.get('id')}: {len(found)} elements of class {cls}"
        return found[0]

    def ancestor_ids(self):
        ids, n = [], self.parent
        while n is not None:
            if "id" in n.attrs:
                ids.append(n.attrs["id"])
            n = n.parent
        return ids


class Page(HTMLParser):
    """The element tree of a page, with its elements by id (every id must be unique)."""

    VOID = {"meta", "link", "br", "hr", "img", "input"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root
        self.by_id = {}
        self.feed(text)
        self.close()
        assert self.cur is self.root, f"unclosed <{self.cur.tag}>"

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        self.cur.content.append(node)
        if "id" in node.attrs:
            assert node.attrs["id"] not in self.by_id, f"duplicate id {node.attrs['id']}"
            self.by_id[node.attrs["id"]] = node
        if tag not in self.VOID:
            self.cur = node

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert self.cur.tag == tag, f"</{tag}> closes <{self.cur.tag}>"
        self.cur = self.cur.parent

    def handle_data(self, data):
        self.cur.content.append(data)

    def element(self, anchor):
        assert anchor in self.by_id, f"the page has no element with id {anchor!r}"
        return self.by_id[anchor]


# --------------------------------------------------------------------------------------------
# What the document says


def ref_target(schema):
    """The schema a property refers to ($ref, or allOf with one $ref), or None."""
    ref = schema.get("$ref")
    if ref is None and len(schema.get("allOf", [])) == 1:
        ref = schema["allOf"][0].get("$ref")
    return ref[len(SCHEMA_PREFIX):] if ref else None


def refs_in(schema):
    out = [ref_target(schema)] if ref_target(schema) else []
    for prop in schema.get("properties", {}).values():
        out += refs_in(prop)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out += refs_in(schema[key])
    return out


def reachable_schemas(doc, roots):
    schemas = doc["components"]["schemas"]
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            assert name in schemas, f"$ref to {name}, which the document lacks"
            seen.add(name)
            todo += refs_in(schemas[name])
    return sorted(seen)


def schema_of_kind(doc, gvk):
    for name, schema in doc["components"]["schemas"].items():
        for g in schema.get("x-kubernetes-group-version-kind", []):
            if (g["group"], g["version"], g["kind"]) == gvk:
                return name
    pytest.fail(f"no schema has x-kubernetes-group-version-kind {gvk}")


def type_signs(schema):
    """What the type cell of a property must show: (words, links). A reference is a link to its
    schema; an array or a map shows its element type; otherwise the type and its format."""
    target = ref_target(schema)
    if target:
        return [], ["#" + target]
    if schema.get("type") == "array":
        words, links = type_signs(schema.get("items", {}))
        return ["[]"] + words, links
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        words, links = type_signs(schema["additionalProperties"])
        return ["map[string]"] + words, links
    return [schema.get("type", "object")] + ([schema["format"]] if "format" in schema else []), []


def squash(text):
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Fixtures: one server for the module, and the page rendered from its document


@pytest.fixture(scope="module")
def openapi(tmp_path_factory):
    """The served OpenAPI 3.0 document of the group: (its bytes, parsed)."""
    work = tmp_path_factory.mktemp("api-docs-server")
    srv = Server(work, work / "logs", "test_api_docs")
    try:
        srv.start()
        r = srv.request("GET", OPENAPI)
        assert r.status == 200, r
        yield r.body, r.json()
    finally:
        finish_servers([srv])


def render(args, tmp_path):
    out = tmp_path / "index.html"
    r = subprocess.run([PYTHON, str(SCRIPT), *args, str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, f"gen-api-docs.py {args}:\n{r.stdout}\n{r.stderr}"
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page_text(openapi, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-docs")
    doc_file = tmp / "openapi.json"
    doc_file.write_bytes(openapi[0])
    return render(["--openapi", str(doc_file)], tmp)


@pytest.fixture(scope="module")
def page(page_text):
    return Page(page_text)


# --------------------------------------------------------------------------------------------
# (a) every field of every schema reachable from the kinds


def test_every_field_of_every_schema_reachable_from_the_kinds_is_documented(openapi, page):
    doc = openapi[1]
    roots = [schema_of_kind(doc, gvk) for gvk in ROOT_KINDS]
    names = reachable_schemas(doc, roots)
    # What this walk must reach for the test to mean anything.
    for short in ("FooSpec", "FooStatus", "ScaleSpec", "ScaleStatus", "ObjectMeta", "ListMeta",
                  "Condition", "ManagedFieldsEntry", "OwnerReference", "Time"):
        assert any(n.endswith("." + short) for n in names), short
    fields = 0
    for name in names:
        schema = doc["components"]["schemas"][name]
        section = page.element(name)
        assert section.tag == "section", name
        if schema.get("description"):
            assert squash(schema["description"]) in section.text(), name
        for field, prop in schema.get("properties", {}).items():
            row = page.element(f"{name}.{field}")
            assert name in row.ancestor_ids(), f"{name}.{field} is not under {name}"
            assert field in row.cell("name").text(), f"{name}.{field}"
            words, links = type_signs(prop)
            cell = row.cell("type")
            for w in words:
                assert w in cell.text(), f"{name}.{field}: type {cell.text()!r} lacks {w!r}"
            for h in links:
                assert h in cell.hrefs(), f"{name}.{field}: type does not link {h}"
            if "default" in prop:
                shown = row.cell("default").text()
                assert shown, f"{name}.{field}: no default shown (the schema has one)"
                assert json.loads(shown) == prop["default"], f"{name}.{field}: default {shown!r}"
            else:
                assert row.cell("default").text() == "", f"{name}.{field}"
            if prop.get("description"):
                assert squash(prop["description"]) in row.cell("desc").text(), f"{name}.{field}"
            fields += 1
        if not schema.get("properties"):
            # A schema without fields (Time, Patch, ...) shows its own type instead.
            words, _ = type_signs(schema)
            assert all(w in section.cell("type").text() for w in words), name
    assert fields >= 60, fields


def test_every_schema_of_the_document_has_a_section_and_every_link_resolves(openapi, page):
    for name in openapi[1]["components"]["schemas"]:
        assert page.element(name).tag == "section"
    for href in page.root.hrefs():
        assert href.startswith("#"), f"the page links outside itself: {href}"
        page.element(href[1:])


# --------------------------------------------------------------------------------------------
# (b) every operation


def test_every_path_and_method_of_the_group_is_documented(openapi, page):
    doc = openapi[1]
    assert set(BASE + p for p in FOO_PATHS) <= set(doc["paths"]), sorted(doc["paths"])
    count = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            section = page.element(op["operationId"])
            heading = section.find_all(lambda n: n.tag == "h4")[0].text()
            assert heading == f"{method.upper()} {path}", heading
            text = section.text()
            params = item.get("parameters", []) + op.get("parameters", [])
            for p in params:
                assert p["name"] in text, f"{method} {path}: parameter {p['name']}"
            bodies = [op.get("requestBody", {})] + list(op.get("responses", {}).values())
            for body in bodies:
                for content in body.get("content", {}).values():
                    target = ref_target(content["schema"])
                    assert "#" + target in section.hrefs(), f"{method} {path}: kind {target}"
            for code in op.get("responses", {}):
                assert code in text, f"{method} {path}: response {code}"
            count += 1
    assert count >= 17, count


def test_each_kind_links_the_operations_that_serve_it(openapi, page):
    doc = openapi[1]
    for gvk, op_id in [(ROOT_KINDS[0], "patchDemoExampleComV1beta1Foo"),
                       (ROOT_KINDS[3], "replaceDemoExampleComV1beta1FooScale"),
                       (ROOT_KINDS[2], "createDemoExampleComV1beta1FooBar")]:
        assert "#" + op_id in page.element(schema_of_kind(doc, gvk)).hrefs(), (gvk, op_id)


# --------------------------------------------------------------------------------------------
# (c) the committed page is the current one, and `make docs`'s way of reading gives the same


def test_committed_page_is_up_to_date(page_text):
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    if committed != page_text:
        diff = difflib.unified_diff(committed.splitlines(), page_text.splitlines(),
                                    "docs/api/index.html (committed)", "regenerated", lineterm="")
        shown = "\n".join(line[:200] for line in list(diff)[:40])
        pytest.fail("docs/api/index.html is out of date with the served OpenAPI document: run "
                    "`make docs` and commit it\n" + shown)


def test_build_mode_reads_the_same_document_from_its_own_server(openapi, page_text, tmp_path):
    saved = tmp_path / "saved.json"
    text = render(["--build", str(build_dir()), "--save-openapi", str(saved)], tmp_path)
    assert json.loads(saved.read_bytes()) == openapi[1]
    assert text == page_text

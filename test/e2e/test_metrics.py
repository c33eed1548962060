"""/metrics on foo-apiserver (docs/api.md §9.5): who may read it, what each kind of request moves,
watches, stored objects, and `promtool check metrics` on the page.
"""

import re
import shutil
import subprocess
import time

import pytest

from conftest import FOOS, GROUP, VERSION, foo_manifest, wait_until
from watch_transport import open_watch, transport  # noqa: F401 (fixture)

PROMTOOL = "/usr/bin/promtool"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(server):
    r = server.request("GET", "/metrics", headers={"Accept": "text/plain"})
    assert r.status == 200, r
    return r.body.decode()


def parse(text):
    """{(name, frozenset of (label, value)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    """The sample of name whose labels include `labels` (0 when there is none); fails on two."""
    want = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and want <= ls]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} series"
    return found[0] if found else 0.0


def requests(samples, verb, code, resource="foos", subresource="", scope="resource",
             group=GROUP, version=VERSION):
    if not resource:
        group = version = ""
    return value(samples, "apiserver_request_total", verb=verb, code=str(code), group=group,
                 version=version, resource=resource, subresource=subresource, scope=scope,
                 component="apiserver", dry_run="")


def test_anonymous_gets_401_and_the_admin_200(server):
    r = server.request("GET", "/metrics", auth=None)
    assert r.status == 401, r
    r = server.request("GET", "/metrics")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    r = server.request("POST", "/metrics", body="x")
    assert r.status == 405, r


def test_each_kind_of_request_moves_its_counter(server):
    deployments = "/apis/apps/v1/namespaces/default/deployments"
    apps = {"group": "apps", "version": "v1", "resource": "deployments"}
    before = parse(scrape(server))
    assert server.request("POST", FOOS, foo_manifest("m1")).status == 201
    assert server.request("GET", f"{FOOS}/m1").status == 200
    assert server.request("GET", f"{FOOS}/missing").status == 404
    assert server.request("GET", FOOS).status == 200
    assert server.request("GET", deployments).status == 200
    assert server.request("GET", "/apis/apps/v1/deployments").status == 200
    r = server.request("PATCH", f"{FOOS}/m1", '{"metadata":{"labels":{"a":"b"}}}',
                       headers={"Content-Type": "application/merge-patch+json"})
    assert r.status == 200, r
    apply_code = server.request("PATCH", f"{FOOS}/m1", "{}", headers={
        "Content-Type": "application/apply-patch+yaml"}).status
    bar_code = server.request("POST", f"{FOOS}/m1/bar", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "FooBar", "metadata": {"name": "m1"}}).status
    r = server.request("POST", f"{FOOS}?dryRun=All", foo_manifest("dry"))
    assert r.status == 201, r
    assert server.request("DELETE", f"{FOOS}/m1").status == 200
    assert server.request("DELETE", FOOS).status == 200
    assert server.request("GET", "/version").status == 200
    assert server.request("GET", "/nowhere/at/all").status == 404

    expected = [("POST", 201, {"scope": "cluster"}), ("GET", 200, {}), ("GET", 404, {}),
                ("LIST", 200, {"scope": "cluster"}),
                ("LIST", 200, {"scope": "namespace", **apps}),
                ("LIST", 200, {"scope": "cluster", **apps}), ("PATCH", 200, {}),
                ("APPLY", apply_code, {}), ("POST", bar_code, {"subresource": "bar"}),
                ("DELETE", 200, {}), ("DELETECOLLECTION", 200, {"scope": "cluster"}),
                ("GET", 200, {"resource": "", "subresource": "/version", "scope": ""}),
                ("GET", 404, {"resource": "", "subresource": "", "scope": ""})]

    def moved():
        after = parse(scrape(server))
        d = {(verb, code, tuple(sorted(kw.items()))):
             requests(after, verb, code, **kw) - requests(before, verb, code, **kw)
             for verb, code, kw in expected}
        d["dry"] = value(after, "apiserver_request_total", verb="POST", dry_run="All", code="201")
        return d

    wait_until(lambda: all(v >= 1 for v in moved().values()), 10, "every request counted")
    d = moved()
    assert all(v == 1 for v in d.values()), d  # the dry run has a series of its own

    after = parse(scrape(server))
    # The histogram has a count for what the counter counts, under kube's buckets.
    labels = dict(verb="POST", group=GROUP, version=VERSION, resource="foos", subresource="",
                  scope="cluster", component="apiserver", dry_run="")
    total = value(after, "apiserver_request_total", code="201", **labels)
    assert value(after, "apiserver_request_duration_seconds_count", **labels) == total
    assert value(after, "apiserver_request_duration_seconds_bucket", le="+Inf", **labels) == total
    les = {dict(ls)["le"] for (n, ls) in after if n == "apiserver_request_duration_seconds_bucket"}
    assert {"0.005", "0.025", "1", "1.25", "60", "+Inf"} <= les, les


def test_a_watch_is_registered_long_running_and_its_events_counted(server, transport):
    kind = dict(group=GROUP, version=VERSION, kind="Foo")
    lr = dict(verb="WATCH", group=GROUP, version=VERSION, resource="foos", subresource="",
              scope="cluster", component="apiserver")
    before = parse(scrape(server))
    assert value(before, "apiserver_registered_watchers", **kind) == 0
    events_before = value(before, "apiserver_watch_events_total", **kind)

    w = open_watch(server, transport)
    assert w.ok, w.status
    s = parse(scrape(server))
    assert value(s, "apiserver_registered_watchers", **kind) == 1
    assert value(s, "apiserver_longrunning_requests", **lr) == 1
    # The watch is not a request in flight; the scrape itself is the one readOnly request.
    assert value(s, "apiserver_current_inflight_requests", request_kind="readOnly") == 1
    assert value(s, "apiserver_current_inflight_requests", request_kind="mutating") == 0

    server.create_foo("w1")
    server.create_foo("w2")
    w.collect(lambda evs: len(evs) >= 2)
    wait_until(lambda: value(parse(scrape(server)), "apiserver_watch_events_total", **kind)
               >= events_before + 2, 10, "two watch events counted")
    w.close()

    def gone():
        s = parse(scrape(server))
        return (value(s, "apiserver_registered_watchers", **kind) == 0
                and value(s, "apiserver_longrunning_requests", **lr) == 0)
    wait_until(gone, 10, "the watch unregistered")
    s = parse(scrape(server))
    code = "101" if transport == "websocket" else "200"  # what the client was answered
    assert value(s, "apiserver_request_total", code=code, **lr) == 1


def test_storage_objects_follow_creates_and_deletes(server):
    res = "foos.demo.example.com"

    def count():
        return value(parse(scrape(server)), "apiserver_storage_objects", resource=res)

    start = count()
    for i in range(3):
        server.create_foo(f"s{i}")
    wait_until(lambda: count() == start + 3, 10, "three more stored Foos")
    assert server.request("DELETE", f"{FOOS}/s0").status == 200
    wait_until(lambda: count() == start + 2, 10, "one Foo fewer")
    s = parse(scrape(server))
    assert value(s, "apiserver_storage_objects", resource="namespaces") >= 1  # core: no group


def test_process_metrics(server):
    s = parse(scrape(server))
    assert value(s, "process_resident_memory_bytes") > 1 << 20
    assert 0 < value(s, "process_open_fds") < value(s, "process_max_fds")
    assert value(s, "process_cpu_seconds_total") >= 0
    assert abs(value(s, "process_start_time_seconds") - time.time()) < 3600


def test_promtool_check_metrics_passes(server):
    if not shutil.which(PROMTOOL):
        pytest.skip(f"{PROMTOOL} is not installed")
    server.create_foo("p1")
    w = server.watch()
    server.request("GET", "/nowhere")
    page = scrape(server)
    w.close()
    cp = subprocess.run([PROMTOOL, "check", "metrics"], input=page.encode(),
                        capture_output=True, timeout=60)
    assert cp.returncode == 0, (cp.stdout + cp.stderr).decode() + "\n" + page


@pytest.mark.tokens({"dev-token": ("dev", ["devs"])})
@pytest.mark.server_args("--max-watches", "1")
def test_429s_count_as_flowcontrol_rejections(server):
    def rejected():
        return value(parse(scrape(server)), "apiserver_flowcontrol_rejected_requests_total",
                     reason="concurrency-limit")

    assert rejected() == 0
    w = server.watch(auth="dev-token")  # not system:masters: capped
    assert w.status == 200
    r = server.request("GET", f"{FOOS}?watch=true", auth="dev-token")
    assert r.status == 429, r
    w.close()
    assert rejected() == 1

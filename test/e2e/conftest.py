"""End-to-end harness: runs the real foo-apiserver on loopback and drives it with real clients.

Every test gets its own server (fresh data dir, free port) through the `server` fixture. The
binary comes from $FOO_BUILD (default `build`, relative to the repository root). Each run of a
server logs to its own file under $FOO_E2E_LOGDIR (default: the test's tmp dir); when a test
fails, the tail of every server log of that test is attached to the failure report.

Waiting is always on a condition with a deadline (readiness, a line of kubectl output, a watch
event), never a fixed sleep.

Storage: FOO_E2E_STORAGE=etcd runs every server on one session etcd (etcd_support.py), each under
its own --etcd-prefix; unset (or sqlite), on its own SQLite file. A test of something only SQLite
has (its file, revisions starting at 1 for each server) is marked @pytest.mark.sqlite_only and
skipped on etcd.

Markers:
  @pytest.mark.server_args("--flag", "value", ...)   extra foo-apiserver flags
  @pytest.mark.tokens({"token": ("user", ["group", ...]), ...})
                                                     write a --token-auth-file with those tokens
"""

import base64
import ctypes
import http.client
import json
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from etcd_support import etcd, etcd_private  # noqa: F401 (fixtures)
from etcd_support import server_args as etcd_server_args

REPO = Path(__file__).resolve().parents[2]
GROUP = "demo.example.com"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
BASE = f"/apis/{GROUP}/{VERSION}"
FOOS = f"{BASE}/foos"

SAMPLE = REPO / "manifests" / "samples" / "foo.yaml"

KUBECTL_DISPATCHER = "/usr/bin/kubectl"  # the gcloud dispatcher (v1.32)
KUBECTL_VERSIONED = "/usr/lib/google-cloud-sdk/bin/kubectl.{}"

READY_TIMEOUT_S = float(os.environ.get("FOO_E2E_READY_TIMEOUT", "20"))
STOP_TIMEOUT_S = 20.0
KUBECTL_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 40

# Any of these in a server's stderr means a sanitizer found a bug.
SANITIZER_MARKERS = (
    "AddressSanitizer",
    "LeakSanitizer",
    "UndefinedBehaviorSanitizer",
    "ThreadSanitizer",
    "runtime error:",
)


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: get SIGKILL if pytest dies, so no server outlives the run."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def build_dir():
    """The build directory holding foo-apiserver ($FOO_BUILD, relative to the repo root)."""
    d = Path(os.environ.get("FOO_BUILD", "build"))
    return d if d.is_absolute() else REPO / d


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what, interval=0.05):
    """Polls cond() until it returns a truthy value (returned) or fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def ok(cp):
    """Asserts a kubectl CompletedProcess succeeded; returns its stdout."""
    assert cp.returncode == 0, f"{cp.args}\nstdout: {cp.stdout}\nstderr: {cp.stderr}"
    return cp.stdout


def foo_manifest(name, **spec):
    """A Foo object (dict) with the given spec fields."""
    return {"apiVersion": API_VERSION, "kind": "Foo", "metadata": {"name": name}, "spec": spec}


def labeled_foo(name, labels, **spec):
    """A Foo object (dict) with the given labels and spec fields."""
    foo = foo_manifest(name, **spec)
    foo["metadata"]["labels"] = dict(labels)
    return foo


def assert_failure(r, code, reason):
    """Asserts r is a Status failure (docs/api.md §7.1) with that HTTP code and reason.

    Returns the Status dict for further checks.
    """
    assert r.status == code, r
    st = r.json()
    assert (st["kind"], st["apiVersion"], st["status"]) == ("Status", "v1", "Failure"), st
    assert st["code"] == code, st
    assert st["reason"] == reason, st
    return st


# --------------------------------------------------------------------------------------------
# Raw HTTPS


class Response:
    """A finished HTTP exchange: status, headers (case-insensitive), body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def __iter__(self):  # allows `status, headers, body = server.request(...)`
        return iter((self.status, self.headers, self.body))

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:2000]!r}>"


def send(conn, method, path, body=None, headers=None):
    """Sends one request on an open http.client connection and reads the whole response.

    body may be bytes, str or a JSON-serializable object (sent as application/json).
    """
    hdrs = {"Accept": "application/json"}
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        hdrs["Content-Type"] = "application/json"
    if isinstance(body, str):
        body = body.encode()
    hdrs.update(headers or {})
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    return Response(resp.status, resp.headers, resp.read())


# --------------------------------------------------------------------------------------------
# Watch streams


class EventStream:
    """What every watch stream of the tests shares: .events (read so far) and .next(timeout),
    which a subclass defines (the next event, or None at a clean end)."""

    def collect(self, until, timeout=10.0):
        """Reads events until until(events) is true; returns the events read so far.

        Fails the test at the deadline or when the stream ends first.
        """
        deadline = time.monotonic() + timeout
        while not until(self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"watch condition not met within {timeout}s; events: {self.events}")
            if self.next(left) is None:
                pytest.fail(f"watch ended before the condition was met; events: {self.events}")
        return self.events


class WatchStream(EventStream):
    """A chunked watch response read event by event.

    The constructor returns once the response headers arrived (the server flushes them at once),
    so writes made afterwards are guaranteed to be seen by this watch.
    """

    def __init__(self, conn, path, headers=None):
        self.conn = conn
        hdrs = {"Accept": "application/json"}
        hdrs.update(headers or {})
        conn.request("GET", path, headers=hdrs)
        self.resp = conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.events = []
        self.ended = False

    def next(self, timeout=10.0):
        """The next event (a dict), or None when the stream ended cleanly.

        Fails the test when nothing arrives within `timeout` seconds. A stream cut without its
        terminating chunk raises http.client.IncompleteRead.
        """
        if self.ended:
            return None
        self.conn.sock.settimeout(timeout)
        try:
            line = self.resp.readline()
        except (socket.timeout, TimeoutError):
            pytest.fail(f"no watch event within {timeout}s; got so far: {self.events}")
        if not line:
            self.ended = True
            return None
        ev = json.loads(line)
        self.events.append(ev)
        return ev

    def close(self):
        self.conn.close()


# --------------------------------------------------------------------------------------------
# Line reader for long-running client processes (kubectl get -w)


class LineReader:
    """Collects the lines of a text stream in a background thread, for waiting with deadlines."""

    def __init__(self, stream):
        self.lines = []
        self._q = queue.Queue()
        self._t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._t.start()

    def _run(self, stream):
        for line in stream:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, pred, timeout, what="a matching line"):
        """Returns the first new line for which pred(line) is true; fails at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"timed out waiting for {what}; lines so far: {self.lines}")
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self._q.put(None)  # keep reporting EOF to later waits
                pytest.fail(f"stream ended while waiting for {what}; lines: {self.lines}")
            self.lines.append(line)
            if pred(line):
                return line


# --------------------------------------------------------------------------------------------
# The server


class Server:
    """One foo-apiserver process (and its restarts) on a fixed port and data dir."""

    def __init__(self, workdir, logdir, name, extra_args=()):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.cache_dir = self.workdir / "kubectl-cache"
        self.logdir = Path(logdir)
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.kubeconfig = self.data_dir / "kubeconfig"
        self.binary = build_dir() / "foo-apiserver"
        self.proc = None
        self.runs = 0
        self.log_paths = []
        self._log = None

    # ---- process control

    def start(self):
        """Starts the server and waits until /readyz answers 200."""
        if not self.binary.exists():
            pytest.fail(f"{self.binary} does not exist (build it, or set FOO_BUILD)")
        self.runs += 1
        self.logdir.mkdir(parents=True, exist_ok=True)
        log_path = self.logdir / f"{self.name}.{self.port}.run{self.runs}.log"
        self.log_paths.append(log_path)
        self._log = open(log_path, "wb")
        cmd = self.command()
        self._log.write(("# " + " ".join(cmd) + "\n").encode())
        self._log.flush()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, cwd=self.workdir,
                                     preexec_fn=_die_with_parent)
        self._wait_ready()

    def command(self):
        """The foo-apiserver command line (a subclass may start it without --standalone)."""
        return [
            str(self.binary), "--standalone",
            "--data-dir", str(self.data_dir),
            "--secure-port", str(self.port),
            "--bind-address", "127.0.0.1",
            "-v", "2",
        ] + self.extra_args

    def ca_file(self):
        """The CA that signed the serving certificate (standalone: generated at start)."""
        return self.data_dir / "pki" / "ca.crt"

    def _wait_ready(self):
        ca = self.ca_file()

        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"foo-apiserver exited with {self.proc.returncode} during start:\n"
                            + self.tail())
            if not ca.exists():
                return False
            try:
                r = self.request("GET", "/readyz", auth=None, timeout=2)
            except (OSError, ssl.SSLError, http.client.HTTPException):
                return False
            return r.status == 200

        wait_until(ready, READY_TIMEOUT_S, f"{self.url}/readyz")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def sigterm(self):
        """Sends SIGTERM without waiting (see wait_exit)."""
        self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout=STOP_TIMEOUT_S):
        """Waits for the process to end; asserts exit code 0 and no sanitizer report."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._close_log()
            pytest.fail(f"foo-apiserver did not exit within {timeout}s of SIGTERM")
        self._close_log()
        report = self.sanitizer_report()
        assert report is None, f"sanitizer report in {self.log_paths[-1]}:\n{report}"
        assert rc == 0, f"foo-apiserver exited with {rc} after SIGTERM:\n{self.tail()}"

    def stop(self):
        """SIGTERM, then asserts a clean exit (code 0, no sanitizer report)."""
        self.sigterm()
        self.wait_exit()

    def kill9(self):
        """SIGKILL: the crash case. The data dir is kept for restart()."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close_log()

    def restart(self):
        """Stops the server cleanly (if running) and starts it again on the same port and data."""
        if self.running():
            self.stop()
        self.start()

    def finish(self):
        """Fixture teardown: stop a running server cleanly, check logs of every run."""
        if self.running():
            self.stop()
        for p in self.log_paths:
            text = p.read_text(errors="replace")
            for m in SANITIZER_MARKERS:
                assert m not in text, f"sanitizer report in {p}:\n{self._tail_of(p)}"

    def _close_log(self):
        if self._log:
            self._log.close()
            self._log = None

    # ---- logs

    def log_text(self):
        """The log (stdout+stderr) of the current or last run."""
        if not self.log_paths:
            return ""
        return self.log_paths[-1].read_text(errors="replace")

    def sanitizer_report(self):
        text = self.log_text()
        for m in SANITIZER_MARKERS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 2000):i + 6000]
        return None

    @staticmethod
    def _tail_of(path, n=LOG_TAIL_LINES):
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError as e:
            return f"(cannot read {path}: {e})"
        return "\n".join(lines[-n:])

    def tail(self, n=LOG_TAIL_LINES):
        return self._tail_of(self.log_paths[-1], n) if self.log_paths else "(no log)"

    # ---- TLS

    def _client_cert(self):
        """(crt, key) paths of the admin client certificate.

        DATA/pki/admin.crt|key are the contract; if missing, fall back to the credentials
        embedded in DATA/kubeconfig.
        """
        crt = self.data_dir / "pki" / "admin.crt"
        key = self.data_dir / "pki" / "admin.key"
        if crt.exists() and key.exists():
            return crt, key
        kc = yaml.safe_load(self.kubeconfig.read_text())
        user = kc["users"][0]["user"]
        crt = self.workdir / "kubeconfig-admin.crt"
        key = self.workdir / "kubeconfig-admin.key"
        crt.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        return crt, key

    def ssl_context(self, client_cert=True):
        """A TLS context trusting ca_file(), with the admin client cert if asked."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file()))
        if client_cert:
            crt, key = self._client_cert()
            ctx.load_cert_chain(str(crt), str(key))
        return ctx

    def connection(self, auth="admin", timeout=REQUEST_TIMEOUT_S):
        """A new HTTPS connection. auth: "admin" (client cert), None (anonymous) or a
        bearer token string (sent by request()/watch() as Authorization header)."""
        ctx = self.ssl_context(client_cert=(auth == "admin"))
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=timeout)

    @staticmethod
    def _auth_headers(auth, headers):
        h = dict(headers or {})
        if auth not in ("admin", None):
            h["Authorization"] = f"Bearer {auth}"
        return h

    def request(self, method, path, body=None, headers=None, auth="admin",
                timeout=REQUEST_TIMEOUT_S):
        """One request on a fresh connection; returns a Response (status, headers, body)."""
        conn = self.connection(auth, timeout)
        try:
            return send(conn, method, path, body, self._auth_headers(auth, headers))
        finally:
            conn.close()

    def get_json(self, path, expect=200):
        r = self.request("GET", path)
        assert r.status == expect, r
        return r.json()

    def create_foo(self, name, **spec):
        r = self.request("POST", FOOS, foo_manifest(name, **spec))
        assert r.status == 201, r
        return r.json()

    def get_foo(self, name):
        return self.get_json(f"{FOOS}/{name}")

    def merge_patch(self, name, patch, subresource=None):
        """PATCH application/merge-patch+json on foos/NAME[/SUBRESOURCE]; returns the Response."""
        path = f"{FOOS}/{name}" + (f"/{subresource}" if subresource else "")
        return self.request("PATCH", path, json.dumps(patch),
                            headers={"Content-Type": "application/merge-patch+json"})

    def watch(self, query="", auth="admin", headers=None, timeout=REQUEST_TIMEOUT_S):
        """Opens GET /apis/G/V/foos?watch=true&<query>; returns a WatchStream."""
        path = f"{FOOS}?watch=true" + (f"&{query}" if query else "")
        return WatchStream(self.connection(auth, timeout), path,
                           self._auth_headers(auth, headers))

    # ---- kubectl

    @staticmethod
    def kubectl_binary(version=None):
        return KUBECTL_DISPATCHER if version is None else KUBECTL_VERSIONED.format(version)

    def _kubectl_cmd(self, args, version):
        return [self.kubectl_binary(version), "--kubeconfig", str(self.kubeconfig),
                "--cache-dir", str(self.cache_dir), *args]

    def kubectl(self, *args, version=None, input=None, timeout=KUBECTL_TIMEOUT_S):
        """Runs kubectl (the 1.32 dispatcher, or kubectl.<version>) against this server."""
        return subprocess.run(self._kubectl_cmd(args, version), input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=REPO)

    def kubectl_popen(self, *args, version=None):
        """Starts a long-running kubectl (e.g. get -w); returns (Popen, stdout LineReader)."""
        p = subprocess.Popen(self._kubectl_cmd(args, version), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=REPO)
        return p, LineReader(p.stdout)


# --------------------------------------------------------------------------------------------
# Fixtures and hooks


def pytest_configure(config):
    config.addinivalue_line("markers", "server_args(*args): extra foo-apiserver flags")
    config.addinivalue_line("markers", "tokens(dict): token -> (user, [groups]) for "
                                       "--token-auth-file")
    config.addinivalue_line("markers", "sqlite_only: skipped when FOO_E2E_STORAGE=etcd")


def pytest_runtest_setup(item):
    if (item.get_closest_marker("sqlite_only")
            and os.environ.get("FOO_E2E_STORAGE", "sqlite") == "etcd"):
        pytest.skip("tests what only the SQLite backend has")


def write_token_file(path, tokens):
    """kube-apiserver's static token CSV: token,user,uid,"group1,group2"."""
    lines = []
    for i, (tok, (user, groups)) in enumerate(sorted(tokens.items())):
        line = f"{tok},{user},uid-{i}"
        if groups:
            line += ',"' + ",".join(groups) + '"'
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def finish_servers(servers):
    """Stops every server and checks its log (Server.finish); reports all failures, then fails."""
    errors = []
    for srv in servers:
        try:
            srv.finish()
        except BaseException as e:  # report every server, then fail
            errors.append(f"{srv.url}: {e}")
    if errors:
        pytest.fail("\n".join(errors))


def _logdir(tmp_path):
    d = os.environ.get("FOO_E2E_LOGDIR")
    return Path(d) if d else tmp_path / "logs"


@pytest.fixture
def make_server(request, tmp_path):
    """Factory: make_server(*extra_args) starts one more server for this test
    (server_class: Server or a subclass taking the same arguments, then server_kw)."""
    servers = []
    request.node.foo_servers = servers

    def make(*extra_args, tokens=None, server_class=Server, **server_kw):
        workdir = tmp_path / f"server{len(servers)}"
        workdir.mkdir()
        args = list(extra_args)
        if os.environ.get("FOO_E2E_STORAGE", "sqlite") == "etcd":
            args = etcd_server_args(request.getfixturevalue("etcd")) + args
        if tokens:
            tf = workdir / "tokens.csv"
            write_token_file(tf, tokens)
            args += ["--token-auth-file", str(tf)]
        srv = server_class(workdir, _logdir(tmp_path), request.node.name, args, **server_kw)
        servers.append(srv)
        srv.start()
        return srv

    yield make
    finish_servers(servers)


@pytest.fixture
def server(request, make_server):
    """A started foo-apiserver with a fresh data dir; flags from the markers."""
    args = []
    m = request.node.get_closest_marker("server_args")
    if m:
        args += list(m.args)
    t = request.node.get_closest_marker("tokens")
    return make_server(*args, tokens=t.args[0] if t else None)


@pytest.fixture(params=[None, "1.27"], ids=["kubectl", "kubectl1.27"])
def kver(request):
    """kubectl version to use: None = /usr/bin/kubectl (1.32 dispatcher), or "1.27"."""
    return request.param


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for srv in getattr(item, "foo_servers", []):
        for p in srv.log_paths:
            rep.sections.append((f"foo-apiserver log tail ({p})", Server._tail_of(p)))

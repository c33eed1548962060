"""A real etcd for the end-to-end tests (issue 10): Debian's etcd-server on loopback.

scripts/etcd-test.sh starts it (random ports, a temporary data dir) and stops it; this module
wraps that for pytest, talks to etcd's JSON gateway directly (the current revision, compaction,
raw puts for the benchmark), pauses it (SIGSTOP/SIGCONT) for the fault tests, and makes the TLS
certificates of an etcd that requires client certificates.

Fixtures:
  etcd          one plain-HTTP etcd for the whole session (every server uses its own prefix)
  etcd_private  an etcd of the test's own, for tests that pause or compact it
"""

import base64
import json
import os
import signal
import ssl
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ETCD_SCRIPT = REPO / "scripts" / "etcd-test.sh"
ETCD_BINARY = Path(os.environ.get("ETCD", "/usr/bin/etcd"))
REQUEST_TIMEOUT_S = 10.0


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Etcd:
    """One etcd process started by scripts/etcd-test.sh (its state dir is removed by stop())."""

    def __init__(self, state_dir, tls_dir=None):
        self.state_dir = Path(state_dir)
        self.tls_dir = Path(tls_dir) if tls_dir else None
        self.url = None
        self.pid = None
        self.paused = False

    def start(self):
        if not ETCD_BINARY.exists():
            pytest.skip(f"{ETCD_BINARY} is not installed (Debian's etcd-server)")
        env = dict(os.environ)
        if self.tls_dir:
            env["ETCD_TLS_DIR"] = str(self.tls_dir)
        out = subprocess.run(["bash", str(ETCD_SCRIPT), "start", str(self.state_dir)], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"etcd did not start:\n{out.stdout}\n{out.stderr}"
        self.url = out.stdout.split()[0]
        self.pid = int((self.state_dir / "etcd.pid").read_text())
        return self

    def stop(self):
        if self.url is None:
            return
        subprocess.run(["bash", str(ETCD_SCRIPT), "stop", str(self.state_dir)],
                       capture_output=True, text=True, timeout=60)
        self.url = None

    # ---- faults

    def pause(self):
        """SIGSTOP: etcd keeps its sockets but answers nothing (a hung etcd)."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    # ---- the JSON gateway

    def _context(self):
        if not self.tls_dir:
            return None
        ctx = ssl.create_default_context(cafile=str(self.tls_dir / "ca.crt"))
        ctx.load_cert_chain(str(self.tls_dir / "client.crt"), str(self.tls_dir / "client.key"))
        return ctx

    def call(self, path, body, timeout=REQUEST_TIMEOUT_S):
        """POSTs a JSON body to the gateway (path like "/v3/kv/range"); returns the answer."""
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout, context=self._context()) as r:
            return json.loads(r.read())

    def revision(self):
        """etcd's current revision."""
        return int(self.call("/v3/kv/range", {"key": b64("\0"), "limit": 1})["header"]["revision"])

    def compact(self, rev=None):
        """Compacts etcd's history up to rev (default: the current revision), physically."""
        rev = rev or self.revision()
        self.call("/v3/kv/compaction", {"revision": str(rev), "physical": True})
        return rev

    def keys(self, prefix):
        """Every key under prefix (str), in key order."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        r = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(end),
                                       "keys_only": True})
        return [base64.b64decode(kv["key"]).decode() for kv in r.get("kvs", [])]

    def put(self, key, value):
        return self.call("/v3/kv/put", {"key": b64(key), "value": b64(value)})


def make_tls_dir(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as etcd-test.sh's
    ETCD_TLS_DIR wants them (ca.crt, server.crt/key, client.crt/key), made with openssl."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)

    def run(*args):
        out = subprocess.run(["openssl", *args], cwd=d, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, f"openssl {' '.join(args)}:\n{out.stderr}"

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=etcd-test-ca")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                 "extendedKeyUsage=serverAuth,clientAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        (d / f"{name}.ext").write_text(ext)
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=etcd-test-{name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext")
    return d


def server_args(etcd, prefix=None):
    """foo-apiserver flags for a server on etcd, under its own prefix (a fresh one by default)."""
    prefix = prefix or f"/e2e/{uuid.uuid4().hex}"
    args = ["--storage", "etcd", "--etcd-servers", etcd.url, "--etcd-prefix", prefix]
    if etcd.tls_dir:
        args += ["--etcd-cafile", str(etcd.tls_dir / "ca.crt"),
                 "--etcd-certfile", str(etcd.tls_dir / "client.crt"),
                 "--etcd-keyfile", str(etcd.tls_dir / "client.key")]
    return args


@pytest.fixture(scope="session")
def etcd(tmp_path_factory):
    """One etcd for the whole session; tests keep apart by prefix (server_args)."""
    e = Etcd(tmp_path_factory.mktemp("etcd-session") / "state").start()
    yield e
    if e.paused:
        e.resume()
    e.stop()


@pytest.fixture
def etcd_private(tmp_path):
    """An etcd of this test's own (it may pause or compact it)."""
    e = Etcd(tmp_path / "etcd-state").start()
    yield e
    if e.paused:
        e.resume()
    e.stop()


class TcpProxy:
    """A loopback TCP relay in front of etcd, to cut one replica off etcd and let it back.

    cut() closes every relayed connection and refuses new ones (the replica sees etcd vanish
    while other replicas, connected directly, go on); restore() accepts again.
    """

    def __init__(self, target_url):
        import socket
        import threading
        from urllib.parse import urlsplit
        u = urlsplit(target_url)
        self.scheme = u.scheme
        self.tls_dir = None  # plain HTTP only (server_args reads it)
        self.target = (u.hostname, u.port)
        self._socket = socket
        self._lock = threading.Lock()
        self._conns = []
        self._open = True
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.url = f"{self.scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if not self._open:
                    client.close()
                    continue
                try:
                    upstream = self._socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(None)
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self._lock:
            self._open = False
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self):
        with self._lock:
            self._open = True

    def close(self):
        self._closed = True
        self.cut()
        self._listener.close()

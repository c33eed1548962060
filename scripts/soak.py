#!/usr/bin/python3
"""Soak test of foo-apiserver: steady mixed load, with the server's memory and descriptors sampled.

Usage: scripts/soak.py BUILD_DIR SECONDS   (`make soak SOAK_SECONDS=N`; default 300)

One standalone server on a fresh data dir takes, for SECONDS:
  - WRITERS threads, each keeping its own pool of at most POOL Foos: create, merge-patch
    spec.replicas, delete the oldest when the pool is full (so the object count stays level);
  - LISTERS threads listing foos in pages of 100;
  - WATCHERS watches, each reconnecting when its timeoutSeconds (drawn 20-60 s) ends;
  - one client that opens a new TLS connection for every request (reconnecting clients).
Every SAMPLE_S seconds the server's resident memory (VmRSS) and open descriptors (/proc/PID/fd)
are printed. The first minute is warm-up; the sample at 60 s is the baseline.

Fails (exit 1) when a later sample of either passes the baseline by more than 10 %, when any
acknowledged write is missing or different at the end (every Foo a writer still holds must be
there with the replicas it last acknowledged; every Foo it deleted must be gone), or when the
server dies or logs a sanitizer report.

The watch cache keeps at least --watch-cache-min-age-seconds of events (default 300 s), which
would make the history, and the memory, grow for the whole of a 300 s run by design; the soak
runs the server with 30 s so the steady state starts within the warm-up minute.
"""

import http.client
import os
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test" / "e2e"))

import conftest  # noqa: E402  (the e2e harness's Server: start, TLS, requests)

WRITERS = 4
POOL = 50
LISTERS = 2
WATCHERS = 200
SAMPLE_S = 10
WARMUP_S = 60
GROWTH_LIMIT = 1.10
WRITE_PAUSE_S = 0.02  # per writer: about 50 writes/s each, a steady load rather than a flood


class Soak:
    def __init__(self, server, seconds):
        self.server = server
        self.deadline = time.monotonic() + seconds
        self.errors = []
        self.lock = threading.Lock()
        self.counts = {"writes": 0, "lists": 0, "events": 0, "reconnects": 0}
        self.expected = {}  # name -> replicas last acknowledged (None: deleted)
        self.streams = set()  # open watch streams

    def running(self):
        return time.monotonic() < self.deadline and not self.errors

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] += n

    def fail(self, msg):
        with self.lock:
            self.errors.append(msg)

    def expect(self, name, replicas):
        with self.lock:
            self.expected[name] = replicas

    # ---- load

    def writer(self, w):
        conn = self.server.connection()
        pool, n = [], 0
        while self.running():
            if len(pool) >= POOL:
                name = pool.pop(0)
                r = conftest.send(conn, "DELETE", f"{conftest.FOOS}/{name}")
                if r.status != 200:
                    return self.fail(f"delete {name}: {r.status} {r.body[:200]!r}")
                self.expect(name, None)
            name = f"soak-{w}-{n}"
            n += 1
            body = conftest.foo_manifest(name, replicas=1)
            r = conftest.send(conn, "POST", conftest.FOOS, body)
            if r.status != 201:
                return self.fail(f"create {name}: {r.status} {r.body[:200]!r}")
            self.expect(name, 1)
            pool.append(name)
            target = random.choice(pool)
            replicas = random.randint(0, 9)
            r = conftest.send(conn, "PATCH", f"{conftest.FOOS}/{target}",
                              {"spec": {"replicas": replicas}},
                              {"Content-Type": "application/merge-patch+json"})
            if r.status != 200:
                return self.fail(f"patch {target}: {r.status} {r.body[:200]!r}")
            self.expect(target, replicas)
            self.count("writes", 3)
            time.sleep(WRITE_PAUSE_S)
        conn.close()

    def lister(self):
        conn = self.server.connection()
        while self.running():
            cont = ""
            while True:
                r = conftest.send(conn, "GET", f"{conftest.FOOS}?limit=100{cont}")
                if r.status != 200:
                    return self.fail(f"list: {r.status} {r.body[:200]!r}")
                token = r.json().get("metadata", {}).get("continue")
                if not token:
                    break
                cont = f"&continue={token}"
            self.count("lists")
            time.sleep(0.1)
        conn.close()

    def watcher(self):
        while self.running():
            stream = self.server.watch(f"timeoutSeconds={random.randint(20, 60)}")
            if stream.status != 200:
                return self.fail(f"watch: {stream.status}")
            with self.lock:
                self.streams.add(stream)
            try:
                while stream.resp.readline():
                    self.count("events")
            except (OSError, ValueError, http.client.HTTPException):
                pass  # closed by stop_watchers() at the end
            finally:
                with self.lock:
                    self.streams.discard(stream)
                stream.close()
            self.count("reconnects")

    def stop_watchers(self):
        """Ends every open watch (the watchers block in a read until their timeoutSeconds)."""
        with self.lock:
            streams = list(self.streams)
        for s in streams:
            sock = s.conn.sock  # None once the stream's own end closed it
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def reconnecting_client(self):
        while self.running():
            r = self.server.request("GET", "/readyz", auth=None, timeout=10)
            if r.status != 200:
                return self.fail(f"/readyz on a new connection: {r.status}")
            self.count("reconnects")
            time.sleep(0.05)

    # ---- checks

    def check_writes(self):
        with self.lock:
            expected = dict(self.expected)
        r = self.server.request("GET", conftest.FOOS)
        have = {o["metadata"]["name"]: o["spec"].get("replicas") for o in r.json()["items"]}
        for name, replicas in expected.items():
            if replicas is None and name in have:
                self.fail(f"{name} was deleted (acknowledged) but is still there")
            elif replicas is not None and have.get(name, "missing") != replicas:
                self.fail(f"{name}: replicas {have.get(name, 'missing')}, acknowledged {replicas}")
        return len(expected)


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss_kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss_kb, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    os.environ["FOO_BUILD"] = sys.argv[1]
    seconds = int(sys.argv[2])
    if seconds <= WARMUP_S:
        sys.exit(f"soak: SOAK_SECONDS must be more than the {WARMUP_S} s warm-up")
    work = Path(tempfile.mkdtemp(prefix="foo-soak."))
    server = conftest.Server(work, work / "logs", "soak",
                             ["--watch-cache-min-age-seconds", "30"])
    server.start()
    soak = Soak(server, seconds)
    threads = [threading.Thread(target=soak.writer, args=(w,)) for w in range(WRITERS)]
    threads += [threading.Thread(target=soak.lister) for _ in range(LISTERS)]
    threads += [threading.Thread(target=soak.watcher) for _ in range(WATCHERS)]
    threads.append(threading.Thread(target=soak.reconnecting_client))
    for t in threads:
        t.daemon = True
        t.start()
    start, baseline, worst = time.monotonic(), None, (0, 0)
    print("soak: t_s rss_kb fds writes lists events reconnects", flush=True)
    while soak.running():
        time.sleep(min(SAMPLE_S, max(0.0, soak.deadline - time.monotonic())))
        if not server.running():
            soak.fail("the server died:\n" + server.tail())
            break
        rss, fds = sample(server.proc.pid)
        t = int(time.monotonic() - start)
        with soak.lock:
            c = dict(soak.counts)
        print(f"soak: {t} {rss} {fds} {c['writes']} {c['lists']} {c['events']} "
              f"{c['reconnects']}", flush=True)
        if t >= WARMUP_S:
            if baseline is None:
                baseline = (rss, fds)
            worst = (max(worst[0], rss), max(worst[1], fds))
    soak.deadline = 0  # also when the loop ended on a failure
    soak.stop_watchers()
    for t in threads:
        t.join(timeout=30)
    checked = soak.check_writes()
    server.stop()
    if server.sanitizer_report():
        soak.fail("sanitizer report in the server log")
    if baseline:
        for what, b, w in (("RSS", baseline[0], worst[0]), ("open fds", baseline[1], worst[1])):
            print(f"soak: {what}: baseline {b}, worst after it {w} ({w / b:.3f}x)")
            if w > b * GROWTH_LIMIT:
                soak.fail(f"{what} grew from {b} to {w} (> {GROWTH_LIMIT:.2f}x)")
    print(f"soak: {checked} acknowledged objects checked; logs in {work / 'logs'}")
    for e in soak.errors:
        print(f"soak: FAIL: {e}")
    print("soak: " + ("FAILED" if soak.errors else "passed"))
    sys.exit(1 if soak.errors else 0)


if __name__ == "__main__":
    main()

"""Bench helper: waits for a foo-apiserver, creates Foos, and saves response bodies.

Run with /usr/bin/python3 (stdlib only). Subcommands, all taking URL CA_FILE TOKEN first:
  ready   URL CA TOKEN TIMEOUT_S           poll /readyz until 200 (exit 1 at the deadline)
  create  URL CA TOKEN COUNT PREFIX        create COUNT Foos PREFIX-00000.. over 8 connections
  save    URL CA TOKEN PATH OUT_FILE       GET PATH and write the exact response body to OUT_FILE
"""

import http.client
import json
import ssl
import sys
import threading
import time
from urllib.parse import urlparse

FOOS = "/apis/demo.example.com/v1beta1/foos"
CONNECTIONS = 8


def connect(url, ca):
    u = urlparse(url)
    ctx = ssl.create_default_context(cafile=ca)
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)


def call(conn, token, method, path, body=None):
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def ready(url, ca, token, timeout_s):
    deadline = time.monotonic() + float(timeout_s)
    while time.monotonic() < deadline:
        try:
            conn = connect(url, ca)
            status, _ = call(conn, token, "GET", "/readyz")
            conn.close()
            if status == 200:
                return 0
        except (OSError, ssl.SSLError, http.client.HTTPException):
            pass
        time.sleep(0.1)  # polling a condition; the deadline bounds it
    print(f"fill.py: {url}/readyz not ready within {timeout_s}s", file=sys.stderr)
    return 1


def foo(name):
    return json.dumps({"apiVersion": "demo.example.com/v1beta1", "kind": "Foo",
                       "metadata": {"name": name, "labels": {"app": "bench"}},
                       "spec": {"replicas": 1, "image": "nginx:1.27"}})


def create(url, ca, token, count, prefix):
    count = int(count)
    errors = []

    def run(first):
        conn = connect(url, ca)
        for i in range(first, count, CONNECTIONS):
            status, body = call(conn, token, "POST", FOOS, foo(f"{prefix}-{i:05d}"))
            if status != 201:
                errors.append((status, body[:300]))
                return
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"fill.py: create failed: {errors[0]}", file=sys.stderr)
        return 1
    return 0


def save(url, ca, token, path, out_file):
    conn = connect(url, ca)
    status, body = call(conn, token, "GET", path)
    conn.close()
    if status != 200:
        print(f"fill.py: GET {path}: {status} {body[:300]!r}", file=sys.stderr)
        return 1
    with open(out_file, "wb") as f:
        f.write(body)
    return 0


def main(argv):
    cmds = {"ready": (ready, 1), "create": (create, 2), "save": (save, 2)}
    if len(argv) < 5 or argv[1] not in cmds or len(argv) != 5 + cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    fn, _ = cmds[argv[1]]
    return fn(*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""@kubernetes/client-node 1.4.0 (npm, pinned in test/e2e/node/package.json): a makeInformer on
/apis/demo.example.com/v1beta1/foos (checklist item 51, docs/api.md §11).

The informer runs in node/informer.mjs, which prints one JSON line per informer callback; the
tests wait on those lines with deadlines.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FOOS, LineReader, _die_with_parent

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE = shutil.which("node") or "/usr/bin/node"
EVENT_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


class Informer:
    """node informer.mjs against one server; its stdout lines parsed as JSON events."""

    def __init__(self, server, log_path):
        if not (NODE_DIR / "node_modules" / "@kubernetes" / "client-node").is_dir():
            pytest.fail(f"@kubernetes/client-node is not installed in {NODE_DIR} "
                        "(scripts/install-deps.sh runs npm install there)")
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([NODE, "informer.mjs", str(server.kubeconfig)],
                                     cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, preexec_fn=_die_with_parent)
        self.lines = LineReader(self.proc.stdout)

    def wait_for(self, event, name=None, timeout=EVENT_TIMEOUT_S, **fields):
        """The first new event of that kind (and name, and field values); fails at the deadline."""
        def match(line):
            try:
                ev = json.loads(line)
            except ValueError:
                return False
            return (ev.get("event") == event and (name is None or ev.get("name") == name)
                    and all(ev.get(k) == v for k, v in fields.items()))

        what = f"informer event {event} {name or ''} {fields or ''}"
        try:
            return json.loads(self.lines.wait_for(match, timeout, what))
        except BaseException:
            self._log.flush()
            print("informer stderr:\n" + Path(self.log_path).read_text(errors="replace"))
            raise

    def close(self):
        """Closes stdin (the script exits) and reaps the process."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            self._log.close()


@pytest.fixture
def informer_factory(tmp_path):
    started = []

    def make(server):
        inf = Informer(server, tmp_path / f"informer{len(started)}.stderr")
        started.append(inf)
        return inf

    yield make
    for inf in started:
        inf.close()


# Item 51 (client-node): the informer lists, then watches, and sees create/update/delete.
def test_client_node_informer_observes_create_update_delete(server, informer_factory):
    server.create_foo("foo-pre")
    inf = informer_factory(server)
    inf.wait_for("add", "foo-pre")  # from the initial list
    inf.wait_for("started")         # the watch is open from here on
    server.create_foo("foo-a")
    inf.wait_for("add", "foo-a", replicas=1)
    r = server.merge_patch("foo-a", {"spec": {"replicas": 3}})
    assert r.status == 200, r
    ev = inf.wait_for("update", "foo-a", replicas=3)
    assert ev["rv"] == r.json()["metadata"]["resourceVersion"], ev
    assert server.request("DELETE", f"{FOOS}/foo-a").status == 200
    inf.wait_for("delete", "foo-a")
    assert inf.proc.poll() is None, "the informer script died"


# Item 51 (client-node): its watch ends (here: the server restarts, which closes every stream
# cleanly) and the informer reconnects and keeps delivering changes.
def test_client_node_informer_keeps_working_across_reconnects(server, informer_factory):
    server.create_foo("foo-pre")
    inf = informer_factory(server)
    inf.wait_for("add", "foo-pre")
    inf.wait_for("started")
    server.restart()
    inf.wait_for("connect")  # the watch ended and the informer started over
    server.create_foo("foo-b")
    inf.wait_for("add", "foo-b")
    r = server.merge_patch("foo-pre", {"spec": {"replicas": 2}})
    assert r.status == 200, r
    inf.wait_for("update", "foo-pre", replicas=2)
    assert server.request("DELETE", f"{FOOS}/foo-b").status == 200
    inf.wait_for("delete", "foo-b")
    assert inf.proc.poll() is None, "the informer script died"

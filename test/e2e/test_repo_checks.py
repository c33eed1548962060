"""The repository checks of `make test` fail when their rule is broken (docs/design.md §5).

scripts/check-layers.sh reads the #include lines; a clean run on the repository proves little
unless the same script is seen to refuse a tree that breaks each rule: test/fixtures/layers-broken
is such a tree, one file per rule.
"""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check-layers.sh"


def run(*args):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_layer_check_passes_on_the_repository():
    r = run()
    assert r.returncode == 0, r.stdout + r.stderr


def test_layer_check_refuses_each_broken_rule_of_the_fixture():
    r = run(str(ROOT / "test" / "fixtures" / "layers-broken"))
    assert r.returncode == 1
    lines = sorted(r.stdout.strip().splitlines())
    assert lines == [
        "apiserver/resource/calls_up.c:1: apiserver/resource -> apiserver/rest "
        "(apiserver/rest/server.h)",
        "apiserver/transport/climbs.c:1: climbs out of its folder (../common/json.h): "
        "name the folder from the root",
        "common/uses_api.c:1: common -> api (api/foo.h)",
        "informer/uses_wq.c:1: informer -> workqueue (workqueue/workqueue.h)",
    ]

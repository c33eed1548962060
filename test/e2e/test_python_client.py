"""python3-kubernetes (Debian's 22.6, run by /usr/bin/python3): DynamicClient against foos."""

from kubernetes import config, dynamic, watch

from conftest import API_VERSION, foo_manifest


def dynamic_client(server, tmp_path):
    api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
    # cache_file: keep discovery out of the shared /tmp/osrcp-*.json cache.
    return dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))


def test_dynamic_client_discovers_creates_lists_and_watches_foo(server, tmp_path):
    dyn = dynamic_client(server, tmp_path)
    foos = dyn.resources.get(api_version=API_VERSION, kind="Foo")
    assert foos.name == "foos"
    assert foos.namespaced is False
    assert "fo" in foos.short_names

    created = foos.create(body=foo_manifest("foo-py", replicas=2))
    assert created.metadata.name == "foo-py"
    assert created.metadata.uid
    assert created.metadata.generation == 1
    assert created.spec.replicas == 2

    lst = foos.get()
    assert lst.kind == "FooList"
    assert [i.metadata.name for i in lst.items] == ["foo-py"]
    list_rv = lst.metadata.resourceVersion

    # A watch without resourceVersion starts with the current objects.
    w = watch.Watch()
    first = None
    for ev in w.stream(foos.get, serialize=False, timeout_seconds=5):
        first = ev
        w.stop()
        break
    assert first is not None, "no event within the watch's timeout"
    assert first["type"] == "ADDED"
    assert first["raw_object"]["metadata"]["name"] == "foo-py"

    # A watch from the list's resourceVersion sees only what changed since.
    patched = foos.patch(name="foo-py", body={"spec": {"replicas": 3}},
                         content_type="application/merge-patch+json")
    assert patched.spec.replicas == 3
    w = watch.Watch()
    seen = None
    for ev in w.stream(foos.get, serialize=False, timeout_seconds=5, resource_version=list_rv):
        seen = ev
        w.stop()
        break
    assert seen is not None, "no event within the watch's timeout"
    assert seen["type"] == "MODIFIED"
    assert seen["raw_object"]["spec"]["replicas"] == 3

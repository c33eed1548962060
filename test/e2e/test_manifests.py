"""The deployment files (docs/deploy.md): manifests/, scripts/gen-certs.sh and the Dockerfile.

No cluster here, so each file is checked for what a cluster would do with it: kustomize renders
it, python3-kubernetes reads every object into its model and writes it back unchanged (a field
the model does not know, a misspelt one, would be lost), the flags the Deployments pass exist in
the programs' --help, the RBAC rules allow every call the controller makes, the APIService names
the Service, and the certificates gen-certs.sh makes verify as kube-apiserver's aggregator would
verify them. The image itself is built by `make image`, outside `make test` (it takes minutes).
"""

import base64
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest
import yaml
from kubernetes.client import ApiClient

from conftest import KUBECTL_DISPATCHER, REPO, build_dir, free_port, wait_until

MANIFESTS = REPO / "manifests"
ETCD_OVERLAY = MANIFESTS / "overlays" / "etcd"
GEN_CERTS = REPO / "scripts" / "gen-certs.sh"
NS = "foo-system"
SERVICE_NAMES = [
    "foo-apiserver",
    "foo-apiserver.foo-system",
    "foo-apiserver.foo-system.svc",
    "foo-apiserver.foo-system.svc.cluster.local",
]

# The python3-kubernetes model of each kind the manifests hold.
MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Service"): "V1Service",
    ("v1", "Secret"): "V1Secret",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("apiregistration.k8s.io/v1", "APIService"): "V1APIService",
}

# Every call foo-controller-manager makes (controllers/foo_reconcile.c, events.c, leader.c,
# manager.c): (namespace or None for cluster-wide, API group, resource, verb, name or None).
CONTROLLER_CALLS = [
    (None, "demo.example.com", "foos", "list", None),
    (None, "demo.example.com", "foos", "watch", None),
    (None, "demo.example.com", "foos", "get", None),
    (None, "demo.example.com", "foos", "patch", None),
    (None, "demo.example.com", "foos/status", "patch", None),
    (None, "demo.example.com", "foos/finalizers", "update", None),
    (None, "apps", "deployments", "list", None),
    (None, "apps", "deployments", "watch", None),
    ("default", "apps", "deployments", "create", None),
    ("default", "apps", "deployments", "update", None),
    ("default", "apps", "deployments", "delete", None),
    ("default", "", "events", "create", None),
    ("default", "", "events", "patch", None),
    (NS, "coordination.k8s.io", "leases", "create", None),
    (NS, "coordination.k8s.io", "leases", "get", "foo-controller-manager"),
    (NS, "coordination.k8s.io", "leases", "update", "foo-controller-manager"),
]


# ---- helpers -----------------------------------------------------------------------------------


def run(*cmd):
    """Runs cmd to completion; its CompletedProcess with text stdout and stderr."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120)


def kustomize(path):
    """The objects `kubectl kustomize path` renders (fails the test if it fails)."""
    cp = run(KUBECTL_DISPATCHER, "kustomize", path)
    assert cp.returncode == 0, f"kubectl kustomize {path}: {cp.stderr}"
    return [o for o in yaml.safe_load_all(cp.stdout) if o]


def find(objs, kind, name):
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} rendered"
    return found[0]


def secret_name(volume):
    return volume.get("secret", {}).get("secretName")


def deployments(objs):
    return [o for o in objs if o["kind"] == "Deployment"]


def container(deployment):
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    return c


def help_flags(program):
    """The flags `program --help` lists (from the build under test)."""
    cp = run(build_dir() / program, "--help")
    assert cp.returncode == 0, cp.stderr
    return set(re.findall(r"^\s+(--?[a-z][-a-z]*)", cp.stdout, re.M))


def flag_name(arg):
    return arg.split("=", 1)[0]


def rule_allows(rule, group, resource, verb, name):
    return (
        group in rule.get("apiGroups", [])
        and resource in rule.get("resources", [])
        and verb in rule.get("verbs", [])
        and (not rule.get("resourceNames") or name in rule["resourceNames"])
    )


def granted_rules(objs, sa_namespace, sa_name, namespace):
    """The rules bound to a ServiceAccount that apply in namespace (None: cluster-wide only)."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}
    subject = {"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}
    rules = []
    for b in objs:
        if b["kind"] not in ("ClusterRoleBinding", "RoleBinding") or subject not in b["subjects"]:
            continue
        if b["kind"] == "RoleBinding" and b["metadata"]["namespace"] != namespace:
            continue
        ref = b["roleRef"]
        role_ns = b["metadata"]["namespace"] if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_ns, ref["name"]))
        if role:
            rules += role["rules"]
    return rules


def openssl(*args):
    return run("openssl", *args)


def verify(out, name):
    """openssl verify of out/tls.crt against out/ca.crt as a TLS server named name."""
    return openssl(
        "verify", "-CAfile", out / "ca.crt", "-purpose", "sslserver", "-verify_hostname", name,
        out / "tls.crt",
    )


def gen_certs(out, *args):
    cp = run("bash", GEN_CERTS, "--output-dir", out, *args)
    assert cp.returncode == 0, cp.stderr
    return cp


@pytest.fixture(scope="module")
def base():
    return kustomize(MANIFESTS)


@pytest.fixture(scope="module")
def etcd_variant():
    return kustomize(ETCD_OVERLAY)


@pytest.fixture(params=["sqlite", "etcd"])
def rendered(request, base, etcd_variant):
    return base if request.param == "sqlite" else etcd_variant


# ---- what kustomize renders --------------------------------------------------------------------


def test_kustomize_renders_every_object(base):
    got = sorted((o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in base)
    assert got == sorted(
        [
            ("Namespace", None, NS),
            ("ServiceAccount", NS, "foo-apiserver"),
            ("ServiceAccount", NS, "foo-controller-manager"),
            ("ClusterRoleBinding", None, "foo-apiserver:system:auth-delegator"),
            (
                "RoleBinding",
                "kube-system",
                "foo-apiserver:extension-apiserver-authentication-reader",
            ),
            ("ClusterRole", None, "foo-controller-manager"),
            ("ClusterRoleBinding", None, "foo-controller-manager"),
            ("Role", NS, "foo-controller-manager:leader-election"),
            ("RoleBinding", NS, "foo-controller-manager:leader-election"),
            ("PersistentVolumeClaim", NS, "foo-apiserver-data"),
            ("Deployment", NS, "foo-apiserver"),
            ("Service", NS, "foo-apiserver"),
            ("APIService", None, "v1beta1.demo.example.com"),
            ("Deployment", NS, "foo-controller-manager"),
        ]
    )


def test_every_object_round_trips_through_its_python_kubernetes_model(rendered):
    client = ApiClient()
    for obj in rendered:
        model = MODELS[(obj["apiVersion"], obj["kind"])]
        typed = client._ApiClient__deserialize(obj, model)
        assert type(typed).__name__ == model
        # A field the model does not have (a typo, a wrong level) would be dropped here.
        assert client.sanitize_for_serialization(typed) == obj, obj["metadata"]["name"]


def test_the_sqlite_apiserver_runs_one_replica_on_its_volume_claim(base):
    d = find(base, "Deployment", "foo-apiserver")
    assert d["spec"]["replicas"] == 1
    assert d["spec"]["strategy"]["type"] == "Recreate"
    volumes = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
    claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
    find(base, "PersistentVolumeClaim", claim)
    mounts = {m["name"]: m["mountPath"] for m in container(d)["volumeMounts"]}
    # A subdirectory of the volume, which the server creates as its own (see the next test).
    assert "--data-dir=" + mounts["data"] + "/data" in container(d)["args"]


def test_the_etcd_variant_runs_replicas_on_etcd_without_a_volume_claim(etcd_variant):
    d = find(etcd_variant, "Deployment", "foo-apiserver")
    args = container(d)["args"]
    assert d["spec"]["replicas"] >= 2
    assert d["spec"]["strategy"]["type"] == "RollingUpdate"
    assert "--storage=etcd" in args
    assert any(a.startswith("--etcd-servers=https://") for a in args)
    assert not [o for o in etcd_variant if o["kind"] == "PersistentVolumeClaim"]
    for v in d["spec"]["template"]["spec"]["volumes"]:
        assert "persistentVolumeClaim" not in v


# ---- Deployments ---------------------------------------------------------------------------------


def test_every_deployment_runs_unprivileged_on_a_read_only_root(rendered):
    for d in deployments(rendered):
        pod = d["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert set(c["resources"]["requests"]) == {"cpu", "memory"}
            assert set(c["resources"]["limits"]) == {"cpu", "memory"}
            assert c["image"] == "foo:latest" and c["imagePullPolicy"] == "IfNotPresent"
            assert c["readinessProbe"] and c["livenessProbe"]


def test_the_apiserver_serves_https_on_8443_with_the_tls_secret_and_probes(rendered):
    d = find(rendered, "Deployment", "foo-apiserver")
    c = container(d)
    assert {"--secure-port=8443"} <= set(c["args"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"https": 8443}
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        get = c[probe]["httpGet"]
        assert (get["path"], get["scheme"], ports[get["port"]]) == (path, "HTTPS", 8443)
    volumes = {v["name"]: v for v in d["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    (tls,) = [n for n, v in volumes.items() if secret_name(v) == "foo-apiserver-tls"]
    assert f"--tls-cert-file={mounts[tls]}/tls.crt" in c["args"]
    assert f"--tls-private-key-file={mounts[tls]}/tls.key" in c["args"]
    assert d["spec"]["template"]["spec"]["serviceAccountName"] == "foo-apiserver"


def test_the_controller_manager_elects_a_leader_and_is_probed_on_its_health_port(rendered):
    d = find(rendered, "Deployment", "foo-controller-manager")
    c = container(d)
    assert "--leader-elect" in c["args"]
    assert "--health-probe-bind-address=:8081" in c["args"]
    assert "--metrics-bind-address=:8080" in c["args"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c[probe]["httpGet"]
        assert (get["path"], ports[get["port"]]) == (path, 8081)
    assert d["spec"]["template"]["spec"]["serviceAccountName"] == "foo-controller-manager"


def test_every_flag_the_deployments_pass_is_one_the_program_knows(rendered):
    known = {
        "/usr/local/bin/foo-apiserver": help_flags("foo-apiserver"),
        "/usr/local/bin/foo-controller-manager": help_flags("foo-controller-manager"),
    }
    for d in deployments(rendered):
        c = container(d)
        (program,) = c["command"]
        unknown = {flag_name(a) for a in c["args"]} - known[program]
        assert not unknown, f"{d['metadata']['name']}: {unknown} not in {program} --help"


# ---- RBAC ----------------------------------------------------------------------------------------


def test_the_apiserver_may_delegate_authentication_and_read_the_authentication_configmap(base):
    crb = find(base, "ClusterRoleBinding", "foo-apiserver:system:auth-delegator")
    assert crb["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "system:auth-delegator",
    }
    rb = find(base, "RoleBinding", "foo-apiserver:extension-apiserver-authentication-reader")
    assert rb["metadata"]["namespace"] == "kube-system"
    assert rb["roleRef"]["kind"] == "Role"
    assert rb["roleRef"]["name"] == "extension-apiserver-authentication-reader"
    sa = {"kind": "ServiceAccount", "name": "foo-apiserver", "namespace": NS}
    assert crb["subjects"] == [sa] and rb["subjects"] == [sa]


@pytest.mark.parametrize("namespace,group,resource,verb,name", CONTROLLER_CALLS)
def test_the_controller_rbac_allows_each_call_it_makes(
    base, namespace, group, resource, verb, name
):
    rules = granted_rules(base, NS, "foo-controller-manager", namespace)
    assert any(rule_allows(r, group, resource, verb, name) for r in rules)


def test_the_controller_rbac_grants_no_wildcards_and_no_leases_cluster_wide(base):
    rules = granted_rules(base, NS, "foo-controller-manager", None)
    for r in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in r[key], r
        assert "leases" not in r["resources"], "the Lease lives in foo-system: a Role there"
    # Nothing in another namespace either (kube-system, say).
    assert granted_rules(base, NS, "foo-controller-manager", "kube-system") == rules


# ---- Service and APIService ----------------------------------------------------------------------


def test_the_apiservice_names_the_service_which_reaches_the_apiserver_port(base):
    api = find(base, "APIService", "v1beta1.demo.example.com")
    spec = api["spec"]
    assert api["metadata"]["name"] == f"{spec['version']}.{spec['group']}"
    assert (spec["group"], spec["version"]) == ("demo.example.com", "v1beta1")
    assert (spec["groupPriorityMinimum"], spec["versionPriority"]) == (1000, 15)
    assert "insecureSkipTLSVerify" not in spec
    svc = find(base, "Service", spec["service"]["name"])
    assert svc["metadata"]["namespace"] == spec["service"]["namespace"]
    (port,) = svc["spec"]["ports"]
    assert port["port"] == spec["service"]["port"] == 443
    d = find(base, "Deployment", "foo-apiserver")
    assert svc["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ports = {p["name"]: p["containerPort"] for p in container(d)["ports"]}
    assert ports[port["targetPort"]] == 8443


def test_the_committed_cabundle_is_a_valid_base64_placeholder(base):
    ca = find(base, "APIService", "v1beta1.demo.example.com")["spec"]["caBundle"]
    assert base64.b64decode(ca, validate=True)


# ---- scripts/gen-certs.sh ------------------------------------------------------------------------


def test_gen_certs_makes_a_serving_certificate_the_aggregator_accepts(tmp_path):
    out = tmp_path / "certs"
    gen_certs(out)
    for name in SERVICE_NAMES:
        cp = verify(out, name)
        assert cp.returncode == 0 and ": OK" in cp.stdout, (name, cp.stdout, cp.stderr)
    # Any other name fails: the check above is not vacuous.
    assert verify(out, "foo-apiserver.default.svc").returncode != 0
    # The key is the certificate's.
    pub = openssl("x509", "-in", out / "tls.crt", "-noout", "-pubkey").stdout
    assert pub and pub == openssl("pkey", "-in", out / "tls.key", "-pubout").stdout


def test_gen_certs_output_deploys_the_secret_and_the_cabundle_of_its_ca(tmp_path):
    out = tmp_path / "certs"
    gen_certs(out)
    ca_pem = (out / "ca.crt").read_bytes()
    objs = kustomize(out)
    api = find(objs, "APIService", "v1beta1.demo.example.com")
    assert base64.b64decode(api["spec"]["caBundle"], validate=True) == ca_pem
    assert api["spec"]["service"] == {"name": "foo-apiserver", "namespace": NS, "port": 443}
    secret = find(objs, "Secret", "foo-apiserver-tls")
    assert secret["metadata"]["namespace"] == NS and secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.crt"]) == (out / "tls.crt").read_bytes()
    assert base64.b64decode(secret["data"]["tls.key"]) == (out / "tls.key").read_bytes()
    # Everything of the base is still there, and the Deployment mounts this Secret.
    assert len(objs) == len(kustomize(MANIFESTS)) + 1
    d = find(objs, "Deployment", "foo-apiserver")
    names = [secret_name(v) for v in d["spec"]["template"]["spec"]["volumes"] if "secret" in v]
    assert names == ["foo-apiserver-tls"]


def test_gen_certs_builds_on_the_etcd_overlay_when_asked(tmp_path):
    out = tmp_path / "certs"
    gen_certs(out, "--base", str(ETCD_OVERLAY))
    objs = kustomize(out)
    assert "--storage=etcd" in container(find(objs, "Deployment", "foo-apiserver"))["args"]
    find(objs, "Secret", "foo-apiserver-tls")


def test_gen_certs_names_another_namespace_and_service(tmp_path):
    out = tmp_path / "certs"
    gen_certs(out, "--namespace", "demo", "--service", "api", "--cluster-domain", "example.org")
    cp = verify(out, "api.demo.svc.example.org")
    assert cp.returncode == 0, cp.stderr
    patch = yaml.safe_load((out / "apiservice-cabundle.yaml").read_text())
    assert patch["spec"]["service"] == {"name": "api", "namespace": "demo"}


def test_gen_certs_keeps_valid_certificates_and_force_makes_new_ones(tmp_path):
    out = tmp_path / "certs"
    gen_certs(out)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    gen_certs(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    gen_certs(out, "--force")
    assert (out / "ca.crt").read_bytes() != first["ca.crt"]
    assert (out / "tls.key").read_bytes() != first["tls.key"]


def test_gen_certs_reissues_a_serving_certificate_that_no_longer_matches(tmp_path):
    out = tmp_path / "certs"
    gen_certs(out, "--namespace", "other")
    ca, tls = (out / "ca.crt").read_bytes(), (out / "tls.crt").read_bytes()
    gen_certs(out)  # the default namespace: the old certificate lacks its names
    assert (out / "ca.crt").read_bytes() == ca
    assert (out / "tls.crt").read_bytes() != tls
    cp = verify(out, "foo-apiserver.foo-system.svc")
    assert cp.returncode == 0, cp.stderr


def test_gen_certs_help_and_bad_options():
    cp = run("bash", GEN_CERTS, "--help")
    assert cp.returncode == 0
    for opt in ("--namespace", "--service", "--output-dir", "--base", "--force"):
        assert opt in cp.stdout
    cp = run("bash", GEN_CERTS, "--bogus")
    assert cp.returncode == 2 and "unknown option --bogus" in cp.stderr
    cp = run("bash", GEN_CERTS, "--namespace", "Not_A_Label")
    assert cp.returncode == 1 and "DNS-1123" in cp.stderr


@pytest.mark.skipif(not (REPO / ".git").exists() or not shutil.which("git"), reason="no git")
def test_the_default_certificate_folder_is_git_ignored():
    cp = run("git", "-C", REPO, "check-ignore", "-q", "manifests/certs/tls.key")
    assert cp.returncode == 0, "manifests/certs/ (private keys) must be git-ignored"


# ---- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_stages():
    """The Dockerfile's stages, each a list of (INSTRUCTION, rest of the line), lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        if instr.upper() == "FROM":
            stages.append([])
        stages[-1].append((instr.upper(), rest.strip()))
    return stages


def apt_packages(stage):
    pkgs = set()
    for instr, rest in stage:
        if instr == "RUN":
            for m in re.finditer(r"apt-get install ([^&]*)", rest):
                pkgs |= {w for w in m.group(1).split() if not w.startswith("-")}
    return pkgs


def test_the_dockerfile_says_two_stages_on_bookworm_slim_and_uid_65532():
    """What the Dockerfile says (its text): the image itself is built by `make image`, which
    needs a container tool and minutes, so it is not part of `make test` (docs/deploy.md §2)."""
    stages = dockerfile_stages()
    assert len(stages) == 2
    assert [s[0] for s in stages] == [
        ("FROM", "debian:bookworm-slim AS build"),
        ("FROM", "debian:bookworm-slim"),
    ]
    final = dict(stages[1])
    assert final["USER"] == "65532:65532"
    copies = [rest for instr, rest in stages[1] if instr == "COPY"]
    assert copies == [
        "--from=build /build/foo-apiserver /build/foo-controller-manager /usr/local/bin/"
    ]
    assert not [p for p in apt_packages(stages[1]) if p.endswith("-dev")]


def package_of(soname):
    """The Debian package holding the shared library soname on this machine."""
    cp = run("ldconfig", "-p")
    paths = re.findall(rf"^\s*{re.escape(soname)} \(libc6,x86-64\) => (\S+)$", cp.stdout, re.M)
    assert paths, f"{soname} not known to ldconfig"
    for path in paths:
        # With merged /usr, ldconfig may say /lib where dpkg knows /usr/lib, or the reverse.
        other = path[4:] if path.startswith("/usr/") else "/usr" + path
        for candidate in (path, other):
            cp = run("dpkg", "-S", candidate)
            if cp.returncode == 0:
                return cp.stdout.split(":", 1)[0]
    pytest.fail(f"no package holds {soname}")


@pytest.mark.skipif(not shutil.which("dpkg") or not shutil.which("readelf"), reason="not Debian")
@pytest.mark.parametrize("program", ["foo-apiserver", "foo-controller-manager"])
def test_the_runtime_stage_installs_every_library_the_programs_load(program):
    cp = run("readelf", "-d", build_dir() / program)
    assert cp.returncode == 0, cp.stderr
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", cp.stdout)
    # libcurl is not linked but loaded on first use (common/curl_lib.c, dlopen), so readelf and
    # ldd do not show it: the soname comes from the loader.
    loader = (REPO / "common" / "curl_lib.c").read_text()
    needed += re.findall(r'#define CURLLIB_SONAME "(\S+)"', loader)
    assert "libcurl.so.4" in needed, "CURLLIB_SONAME not found in common/curl_lib.c"
    # The sanitizer runtimes are the test build's own; libc6 is in every Debian image.
    needed = [n for n in needed if not re.match(r"lib(a|ub|t)san\.", n)]
    packages = {package_of(n) for n in needed} - {"libc6"}
    missing = packages - apt_packages(dockerfile_stages()[1])
    assert not missing, f"{program} loads libraries of {missing}: add them to the runtime stage"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to play the kubelet's part")
def test_the_data_dir_of_the_manifest_works_on_an_fsgroup_volume(base):
    """A volume as the kubelet mounts it with fsGroup (owned by root, group 65532, mode 2775),
    the server running as 65532 as the Deployment says: the --data-dir of the manifest (a
    subdirectory) starts; the mount point itself would be refused, with a hint."""
    d = find(base, "Deployment", "foo-apiserver")
    sc = d["spec"]["template"]["spec"]["securityContext"]
    uid, gid = sc["runAsUser"], sc["fsGroup"]
    mounts = {m["name"]: m["mountPath"] for m in container(d)["volumeMounts"]}
    data_arg = next(a for a in container(d)["args"] if a.startswith("--data-dir="))
    # Outside pytest's temp tree, which only root may enter.
    root = pathlib.Path(tempfile.mkdtemp(prefix="foo-fsgroup-"))
    root.chmod(0o755)
    volume = root / "volume"
    volume.mkdir()
    os.chown(volume, 0, gid)
    os.chmod(volume, 0o2775)
    sub = data_arg[len("--data-dir="):].replace(mounts["data"], str(volume), 1)

    def run(data_dir, port):
        """Starts the server as the Deployment's user; returns its log once it serves (then it
        is stopped) or once it exited."""
        log = root / f"log-{port}"
        with open(log, "w") as f:
            p = subprocess.Popen(
                ["setpriv", f"--reuid={uid}", f"--regid={gid}", f"--groups={gid}",
                 str(build_dir() / "foo-apiserver"), "--standalone", "--data-dir", data_dir,
                 "--secure-port", str(port), "--bind-address", "127.0.0.1"], stderr=f)
        try:
            wait_until(lambda: p.poll() is not None or '"serving"' in log.read_text(), 30,
                       "the server to serve or exit")
        finally:
            p.terminate()
            p.wait(timeout=30)
        return log.read_text()

    served = run(sub, free_port())
    assert '"serving"' in served, served
    assert (volume / "data" / "foo.db").exists(), "the database is in the subdirectory"
    refused = run(str(volume), free_port())
    shutil.rmtree(root)
    assert "cannot chmod" in refused and '"serving"' not in refused, refused

#!/usr/bin/env bash
# Makes the certificates foo-apiserver serves in a cluster, and the kustomization that deploys
# them (docs/deploy.md):
#   - a CA (ca.crt, ca.key), whose certificate becomes the APIService's caBundle: kube-apiserver's
#     aggregator trusts our server only through it;
#   - a serving certificate (tls.crt, tls.key) signed by that CA for the Service's names,
#     SERVICE, SERVICE.NS, SERVICE.NS.svc and SERVICE.NS.svc.DOMAIN (the aggregator checks
#     SERVICE.NS.svc);
#   - kustomization.yaml and apiservice-cabundle.yaml: the base manifests plus the Secret
#     foo-apiserver-tls (kubernetes.io/tls) and the caBundle filled in.
# Then: kubectl apply -k OUTPUT_DIR
#
# Idempotent: an existing CA is kept, and so is a serving certificate that still verifies against
# it for every name and is valid for 30 more days; the two YAML files are rewritten identically.
# --force makes everything anew. The output holds private keys: the default output directory is
# git-ignored (manifests/.gitignore); never commit it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: scripts/gen-certs.sh [options]

Makes a CA and a serving certificate for foo-apiserver with openssl, and a kustomization that
adds them to the manifests: the Secret foo-apiserver-tls and the APIService caBundle.
Afterwards: kubectl apply -k OUTPUT_DIR

Options:
  --namespace NS        namespace of the Service and the Secret (default: foo-system)
  --service NAME        name of the Service the APIService points at (default: foo-apiserver)
  --cluster-domain D    the cluster's DNS domain (default: cluster.local)
  --output-dir DIR      where to write (default: manifests/certs, git-ignored)
  --base DIR            kustomization to build on (default: manifests/base;
                        manifests/overlays/etcd for the etcd variant)
  --days N              validity of the serving certificate in days (default: 365;
                        the CA's is 3650)
  --force               make a new CA and serving certificate even if valid ones exist
  -h, --help            this text

--namespace and --service name the certificate and the APIService's service reference; the
base must deploy the Service under those names (the committed manifests use the defaults).
EOF
}

die() {
  echo "gen-certs: $*" >&2
  exit 1
}

ns="foo-system"
svc="foo-apiserver"
domain="cluster.local"
out="$root/manifests/certs"
base="$root/manifests/base"
days=365
force=0
while (($#)); do
  case "$1" in
  --namespace | --service | --cluster-domain | --output-dir | --base | --days)
    (($# >= 2)) || die "$1 needs a value (see --help)"
    case "$1" in
    --namespace) ns="$2" ;;
    --service) svc="$2" ;;
    --cluster-domain) domain="$2" ;;
    --output-dir) out="$2" ;;
    --base) base="$2" ;;
    --days) days="$2" ;;
    esac
    shift 2
    ;;
  --force) force=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "gen-certs: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

# Names go into YAML and openssl configuration unquoted: DNS labels only.
label='^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
[[ "$ns" =~ $label ]] || die "--namespace: not a DNS-1123 label: $ns"
[[ "$svc" =~ $label ]] || die "--service: not a DNS-1123 label: $svc"
[[ "$domain" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || die "--cluster-domain: not a DNS name: $domain"
[[ "$days" =~ ^[1-9][0-9]*$ ]] || die "--days: not a positive number: $days"
[ -f "$base/kustomization.yaml" ] || die "--base: no kustomization.yaml in $base"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
base="$(cd "$base" && pwd)"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

names=("$svc" "$svc.$ns" "$svc.$ns.svc" "$svc.$ns.svc.$domain")
month=$((30 * 24 * 3600))

# ---- the CA ----------------------------------------------------------------------------------
# Kept unless missing, about to expire or --force: a new CA means a new caBundle everywhere.
new_ca=0
if [ "$force" -eq 1 ] || [ ! -s "$out/ca.crt" ] || [ ! -s "$out/ca.key" ] ||
  ! openssl x509 -in "$out/ca.crt" -noout -checkend "$month" >/dev/null 2>&1; then
  cat >"$work/ca.cnf" <<EOF
[req]
prompt = no
distinguished_name = dn
x509_extensions = v3_ca
[dn]
CN = $svc-ca
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 -config "$work/ca.cnf" \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>"$work/log" || { cat "$work/log" >&2; die "making the CA failed"; }
  mv "$work/ca.key" "$out/ca.key"
  mv "$work/ca.crt" "$out/ca.crt"
  new_ca=1
  echo "gen-certs: new CA $out/ca.crt" >&2
fi

# ---- the serving certificate -----------------------------------------------------------------
# Whether tls.crt is signed by our CA, valid for a month more and for every name.
serving_ok() {
  [ -s "$out/tls.crt" ] && [ -s "$out/tls.key" ] || return 1
  openssl x509 -in "$out/tls.crt" -noout -checkend "$month" >/dev/null 2>&1 || return 1
  local n
  for n in "${names[@]}"; do
    openssl verify -CAfile "$out/ca.crt" -purpose sslserver -verify_hostname "$n" \
      "$out/tls.crt" >/dev/null 2>&1 || return 1
  done
  # The key must be the certificate's.
  [ "$(openssl x509 -in "$out/tls.crt" -noout -pubkey)" = "$(openssl pkey -in "$out/tls.key" -pubout)" ]
}

if [ "$force" -eq 1 ] || [ "$new_ca" -eq 1 ] || ! serving_ok; then
  san=""
  for n in "${names[@]}"; do san="${san:+$san, }DNS:$n"; done
  cat >"$work/tls.cnf" <<EOF
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=$svc.$ns.svc" \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>"$work/log" || { cat "$work/log" >&2; die "making the key failed"; }
  openssl x509 -req -sha256 -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" \
    -extfile "$work/tls.cnf" -extensions v3_server -out "$work/tls.crt" 2>"$work/log" ||
    { cat "$work/log" >&2; die "signing the serving certificate failed"; }
  mv "$work/tls.key" "$out/tls.key"
  mv "$work/tls.crt" "$out/tls.crt"
  serving_ok || die "the new serving certificate does not verify (openssl too old?)"
  echo "gen-certs: new serving certificate $out/tls.crt for ${names[*]}" >&2
else
  echo "gen-certs: keeping the valid CA and serving certificate in $out" >&2
fi

# ---- the kustomization -----------------------------------------------------------------------
umask 022
ca_bundle="$(base64 -w0 <"$out/ca.crt")"
cat >"$out/apiservice-cabundle.yaml" <<EOF
# Written by scripts/gen-certs.sh: the CA that signed $svc's serving certificate.
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.demo.example.com
spec:
  service:
    name: $svc
    namespace: $ns
  caBundle: $ca_bundle
EOF
cat >"$out/kustomization.yaml" <<EOF
# Written by scripts/gen-certs.sh. This folder holds private keys: never commit it.
#   kubectl apply -k $out
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$out" "$base")
secretGenerator:
- name: foo-apiserver-tls
  namespace: $ns
  type: kubernetes.io/tls
  files:
  - tls.crt
  - tls.key
  options:
    # The Deployment mounts the Secret by this exact name.
    disableNameSuffixHash: true
patches:
- path: apiservice-cabundle.yaml
EOF
echo "gen-certs: wrote $out/kustomization.yaml; next: kubectl apply -k $out" >&2

#!/usr/bin/env bash
# Idempotent installation of every Debian package foo needs to build, test and benchmark.
# Fast when everything is present: dpkg is asked first, apt only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format
  clang libclang-rt-14-dev
  libwebsockets-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libsqlite3-dev libssl-dev
  uthash-dev libcriterion-dev
  openssl curl ca-certificates procps psmisc
  python3-kubernetes python3-yaml python3-pytest python3-cryptography
  etcd-server etcd-client
  wrk nginx-light prometheus
  valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl: the machine image ships it (with versioned binaries); never download one.
command -v kubectl >/dev/null || { echo "install-deps: kubectl not found on PATH" >&2; exit 1; }

# Node.js for client-node: the machine image ships Node 20; Debian's nodejs is the fallback.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# client-node for the end-to-end tests, pinned to 1.4.0 by package-lock.json (2.x needs Node 22).
dir="$(cd "$(dirname "$0")/.." && pwd)/test/e2e/node"
if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules/@kubernetes/client-node" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --silent >/dev/null)
fi
echo "install-deps: all packages present" >&2

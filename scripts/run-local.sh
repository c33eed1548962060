#!/usr/bin/env bash
# `make local`: runs foo-apiserver standalone on embedded SQLite, data in .local/, in the
# foreground on https://127.0.0.1:9443. Ctrl-C stops it cleanly.
set -euo pipefail
BUILD="${1:-build}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="$ROOT/.local"
PORT="${FOO_LOCAL_PORT:-9443}"
# The data dir holds the keys and the SQLite file: private to this user (0700, files 0600).
umask 077
mkdir -p "$DATA"
chmod 700 "$DATA"

cat <<MSG
foo-apiserver: starting on https://127.0.0.1:$PORT with its data in .local/
In another terminal:
  export KUBECONFIG=$DATA/kubeconfig
  kubectl apply -f manifests/samples/foo.yaml
  kubectl get foos
Ctrl-C stops the server.
MSG

# exec keeps the process in the foreground so Ctrl-C (SIGINT) reaches it directly.
exec "$ROOT/$BUILD/foo-apiserver" --standalone --data-dir "$DATA" \
    --secure-port "$PORT" --bind-address 127.0.0.1

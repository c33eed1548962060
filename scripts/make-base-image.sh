#!/usr/bin/env bash
# Makes the base image the Dockerfile starts from, debian:bookworm-slim, out of Debian's own
# packages, for machines that can reach Debian's package mirror but no container registry.
# debootstrap lays a minimal bookworm into a directory, the directory is trimmed the way the
# slim image is (no docs, man pages or apt lists) and imported under that name into the local
# image store of podman or buildah (they share one store, so either then sees it).
# Where a registry is reachable, `docker pull debian:bookworm-slim` does the same job and this
# script is not needed. See docs/deploy.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/make-base-image.sh [options]

Builds debian:bookworm-slim locally with debootstrap and imports it into podman or buildah.
Needs root (debootstrap), debootstrap, and podman or buildah.

Options:
  --tag NAME        image name to import as (default: debian:bookworm-slim)
  --suite NAME      Debian suite (default: bookworm)
  --mirror URL      Debian mirror (default: debootstrap's own default)
  --dir DIR         where to build the root filesystem (default: a temporary directory,
                    removed afterwards; a given DIR is kept)
  --tool TOOL       podman or buildah (default: the first one found)
  --force           rebuild even if the image already exists
  -h, --help        this text
EOF
}

tag="debian:bookworm-slim"
suite="bookworm"
mirror=""
dir=""
tool=""
force=0
while (($#)); do
  case "$1" in
  --tag) tag="$2"; shift 2 ;;
  --suite) suite="$2"; shift 2 ;;
  --mirror) mirror="$2"; shift 2 ;;
  --dir) dir="$2"; shift 2 ;;
  --tool) tool="$2"; shift 2 ;;
  --force) force=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "make-base-image: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$tool" ]; then
  for t in podman buildah; do
    if command -v "$t" >/dev/null; then tool="$t"; break; fi
  done
fi
case "$tool" in
podman | buildah) command -v "$tool" >/dev/null || { echo "make-base-image: $tool not found" >&2; exit 1; } ;;
"") echo "make-base-image: neither podman nor buildah found (apt-get install podman)" >&2; exit 1 ;;
*) echo "make-base-image: --tool must be podman or buildah" >&2; exit 2 ;;
esac
command -v debootstrap >/dev/null || { echo "make-base-image: debootstrap not found (apt-get install debootstrap)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "make-base-image: debootstrap needs root" >&2; exit 1; }

# Idempotent: an existing image is kept unless --force.
if [ "$force" -eq 0 ] && "$tool" inspect --type image "$tag" >/dev/null 2>&1; then
  echo "make-base-image: $tag already present in $tool's store (--force to rebuild)" >&2
  exit 0
fi

keep=1
if [ -z "$dir" ]; then
  dir="$(mktemp -d)"
  keep=0
fi
cleanup() { [ "$keep" -eq 1 ] || rm -rf "$dir"; }
trap cleanup EXIT

echo "make-base-image: debootstrap $suite into $dir (a few minutes)" >&2
args=(--variant=minbase "$suite" "$dir")
[ -n "$mirror" ] && args+=("$mirror")
debootstrap "${args[@]}" >&2

# Trim as the slim image does: documentation and caches are not needed to run or to apt-get.
# dpkg is told to keep skipping them for packages installed later in the image.
cat >"$dir/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
rm -rf "$dir/usr/share/man"/* "$dir/usr/share/info"/* "$dir/usr/share/locale"/*
rm -rf "$dir/var/lib/apt/lists"/* "$dir/var/cache/apt"/*.bin "$dir/var/cache/apt/archives"/*.deb
rm -rf "$dir/var/log"/*.log "$dir/tmp"/*

echo "make-base-image: importing as $tag with $tool" >&2
if [ "$tool" = podman ]; then
  tar -C "$dir" --numeric-owner -c . | podman import --change 'CMD ["bash"]' - "$tag" >/dev/null
else
  # buildah has no import: start from scratch, copy the tree in, commit.
  ctr="$(buildah from scratch)"
  mnt="$(buildah mount "$ctr")"
  tar -C "$dir" --numeric-owner -c . | tar -C "$mnt" --numeric-owner -x
  buildah umount "$ctr" >/dev/null
  buildah config --cmd bash "$ctr"
  buildah commit --rm "$ctr" "$tag" >/dev/null
fi
echo "make-base-image: $tag ready" >&2

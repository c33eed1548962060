# One image holding both programs, foo-apiserver and foo-controller-manager (docs/deploy.md).
# Build: `make image` (docker, podman or buildah). Where no registry is reachable, make the base
# first with scripts/make-base-image.sh (debootstrap).

# ---- build stage: the -dev packages of scripts/install-deps.sh that the two programs link ------
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libwebsockets-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libsqlite3-dev libssl-dev \
      uthash-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the two programs: the tests (Criterion) are not built here.
ARG JOBS=2
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j "${JOBS}" --target foo-apiserver foo-controller-manager \
 && strip /build/foo-apiserver /build/foo-controller-manager

# ---- runtime stage: only the shared libraries the programs load (ldd) --------------------------
# libcurl4 too, although ldd does not list it: common/curl_lib.c loads it (dlopen) on first use.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libwebsockets17 libcurl4 libsqlite3-0 libssl3 libcjson1 libyaml-0-2 libcap2 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --key GID_MAX=65534 --gid 65532 foo \
 && useradd --key UID_MAX=65534 --uid 65532 --gid 65532 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin foo \
 && install -d -o 65532 -g 65532 -m 0750 /var/lib/foo-apiserver
COPY --from=build /build/foo-apiserver /build/foo-controller-manager /usr/local/bin/

# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 65532:65532
WORKDIR /var/lib/foo-apiserver
EXPOSE 8443 8080 8081
# Exec form throughout: nothing at run time goes through a shell. The manifests choose the
# program with `command:`; this default serves the API.
ENTRYPOINT []
CMD ["/usr/local/bin/foo-apiserver"]

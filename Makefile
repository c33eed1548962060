# Thin wrapper around CMake; see README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
SOAK_SECONDS ?= 300
JOBS ?= $(shell nproc)

.PHONY: all deps build asan tsan test fuzz local bench soak image docs format clean

all: build

deps:
	@scripts/install-deps.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFOO_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# Every test: unit and end-to-end tests under ASan+UBSan, threaded parts under TSan;
# prints "N passed, N failed".
test: deps build asan
	@scripts/run-tests.sh $(ASAN_BUILD) $(TSAN_BUILD)

tsan:
	@scripts/run-tsan.sh $(TSAN_BUILD)

# libFuzzer targets (fuzz/README.md), clang: each runs FUZZ_SECONDS on fuzz/corpus/<name>/ (new
# inputs merged in), FUZZ_JOBS at a time; findings go to fuzz/regressions/<name>/.
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) scripts/run-fuzz.sh $(FUZZ_BUILD)

local: deps build
	@scripts/run-local.sh $(BUILD)

bench: deps build
	@bench/run.sh $(BUILD)

# Steady mixed load for SOAK_SECONDS; fails if the server's RSS or open descriptors grow by more
# than 10 % after the first minute, or if an acknowledged write is missing (scripts/soak.py).
soak: deps build
	@scripts/soak.py $(BUILD) $(SOAK_SECONDS)

# The Dockerfile's image, IMAGE (default foo:latest), with docker if its daemon answers, else
# podman, else buildah (IMAGE_TOOL= to choose). podman and buildah use chroot isolation, which
# needs no cgroups, so it also works inside a container. Base image: docs/deploy.md.
IMAGE ?= foo:latest
IMAGE_TOOL ?= $(shell if docker info >/dev/null 2>&1; then echo docker; \
	elif command -v podman >/dev/null; then echo podman; \
	elif command -v buildah >/dev/null; then echo buildah; fi)

image:
	@case "$(IMAGE_TOOL)" in \
	docker) docker build -t $(IMAGE) . ;; \
	podman) podman build --isolation=chroot -t $(IMAGE) . ;; \
	buildah) buildah bud --isolation=chroot -t $(IMAGE) . ;; \
	*) echo "make image: needs docker (with its daemon running), podman or buildah" >&2; exit 1 ;; \
	esac

# The API reference, docs/api/index.html, from the OpenAPI document a standalone foo-apiserver
# serves (scripts/gen-api-docs.py). Commit the result: test_api_docs fails when it is stale.
docs: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target foo-apiserver
	@/usr/bin/python3 scripts/gen-api-docs.py --build $(BUILD) docs/api/index.html

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)

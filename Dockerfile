# batchq images. One Dockerfile for every process; the CPU build uses Debian, the GPU
# build a CUDA devel image (build args), both with Debian/Ubuntu packages only.
#   docker build -t batchq .                                   # CPU handlers
#   docker build -t batchq-cuda --build-arg BUILD_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04 \
#                --build-arg RUNTIME_IMAGE=nvidia/cuda:12.6.3-base-ubuntu24.04 .
ARG BUILD_IMAGE=debian:bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim
# Where the image's four binaries come from: `compiled` here (the default), or
# `prebuilt`: those of a build made outside, on a host of the base image's Debian release,
# put in .prebuilt/ of the build context. CI's compose test uses `prebuilt`, so that it
# runs the binaries its suite built and tested instead of compiling them a second time
# (tests/compose/compose_test.sh).
ARG BINARIES=compiled

FROM ${BUILD_IMAGE} AS toolchain
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev \
      libhiredis-dev libcli11-dev libboost-dev libspdlog-dev libfmt-dev libsimdjson-dev \
      libopenblas-dev libpng-dev prometheus-cpp-dev libssl-dev python3-dev pybind11-dev \
      libjemalloc-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Configured in either case: CMake's find_package checks that the packages above hold
# every library the build looks for (all but the header-only cppzmq and msgpack), and
# the configure lists the libraries the binaries open at run time.
# A unity build (eight sources compiled as one): the image compiles everything once, and
# parses the shared headers an eighth as often (docs/BENCHMARKS.md: CI's normal build
# took 0.56x the CPU).
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DBATCHQ_BENCH=OFF -DCMAKE_UNITY_BUILD=ON

FROM toolchain AS compiled
RUN ninja -C /build broker gateway gpu_worker batchq \
    && mkdir -p /out/bin \
    && cp /build/broker/broker /build/gateway/gateway /build/gpu_worker/gpu_worker \
          /build/cli/batchq /out/bin/

FROM toolchain AS prebuilt
# Without their debug information, as a Release build has none; their symbols stay, for
# backtraces. With the classic builder, which builds every stage, this one runs in a
# `compiled` build too and finds no .prebuilt/; the `binaries` stage checks what it needs.
# A prebuilt CUDA build's cuBLAS is not shipped: the libraries opened at run time are
# this stage's, and the base image has no CUDA toolkit.
RUN mkdir -p /out/bin \
    && if [ -d .prebuilt ]; then \
         for b in broker gateway gpu_worker batchq; do \
           strip --strip-debug -o /out/bin/$b .prebuilt/$b; \
         done; \
       fi

FROM ${BINARIES} AS binaries
RUN for b in broker gateway gpu_worker batchq; do \
      [ -x /out/bin/$b ] || { echo "no $b binary: a prebuilt build needs all four in .prebuilt/" >&2; exit 1; }; \
    done \
    # A library missing here (a prebuilt binary from another release, or linked to
    # something no Debian package has) would only show when a container starts.
    && if ldd /out/bin/* | grep 'not found' >&2; then exit 1; fi \
    && mkdir -p /out/lib \
    # Ship the shared libraries the binaries use, except the C runtime the base has.
    && ldd /out/bin/* | awk '/=> \//{print $3}' | sort -u \
       | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux)[.-]' \
       | xargs -r cp -L -t /out/lib/ \
    # And those they open at run time (cuBLAS in a CUDA build), which ldd cannot see.
    && xargs -r -a /build/dlopened_libraries.txt cp -L -t /out/lib/

FROM ${RUNTIME_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
# What Python handlers may import: the interpreter's standard library and NumPy. Add
# python3-torch (about 600 MB with its libraries) for the PyTorch example:
#   docker build --build-arg PYTHON_PACKAGES="python3 python3-numpy python3-torch" .
ARG PYTHON_PACKAGES="python3 python3-numpy"
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates \
      ${PYTHON_PACKAGES} \
    && rm -rf /var/lib/apt/lists/* \
    # A fixed uid, so Kubernetes manifests can name it (runAsUser, fsGroup).
    && useradd --system --no-create-home --uid 10001 --user-group batchq \
    # The gateway writes the bootstrap admin key here; a named volume mounted on it
    # takes this owner, so the key survives restarts and stays the gateway's.
    && mkdir -p /var/lib/batchq && chown batchq /var/lib/batchq && chmod 0700 /var/lib/batchq \
    # CURVE keys and Redis users' passwords (the `secrets` service writes them once);
    # the folders inside keep their own modes, so Redis may read only the ACL file.
    && mkdir -p /var/lib/batchq-secrets && chown batchq /var/lib/batchq-secrets \
    && chmod 0755 /var/lib/batchq-secrets
COPY scripts/make_keys.sh scripts/make_redis_users.sh /opt/batchq/scripts/
COPY deploy/redis/users.acl.in /opt/batchq/deploy/redis/
# The Python examples (gpu_worker --python-handler T=/opt/batchq/examples/python/F) and
# the Python client (PYTHONPATH=/opt/batchq/clients/python).
COPY examples/python/ /opt/batchq/examples/python/
COPY clients/python/ /opt/batchq/clients/python/
COPY --from=binaries /out/lib/ /opt/batchq/lib/
COPY --from=binaries /out/bin/ /usr/local/bin/
ENV LD_LIBRARY_PATH=/opt/batchq/lib
USER batchq

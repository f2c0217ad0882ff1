# nas-worker image for CPU nodes. Build from the repository root:
#   docker build -f deploy/docker/worker-cpu.Dockerfile -t nas-worker-cpu .
# Pulls trials from NAS_CONTROLLER-style flags (see the ENTRYPOINT and the
# compose/k8s files); /metrics on 9101. Fashion-MNIST from Debian's
# dataset-fashion-mnist.
# --- build stage: Debian 12 packages only ------------------------------------
FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev \
      libtorch-dev libabsl-dev libpqxx-dev prometheus-cpp-dev \
      libyaml-cpp-dev zlib1g-dev \
      libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY proto proto
COPY common common
COPY controller controller
COPY worker worker
COPY client client
COPY migrations migrations
# The revision --version and *_build_info report (no .git is copied in):
#   docker build --build-arg NAS_REVISION=$(git rev-parse --short HEAD) ...
ARG NAS_REVISION=unknown
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DNAS_REVISION=${NAS_REVISION} \
      -DNAS_BUILD_TESTS=OFF -DNAS_BUILD_BENCH=OFF
RUN cmake --build /build --target nas-worker

# --- runtime stage --------------------------------------------------------------
FROM debian:12-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libtorch1.13 zlib1g \
      libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 \
      dataset-fashion-mnist ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/worker/nas-worker /usr/local/bin/
# nobody's HOME is /nonexistent: caches go to NAS_CACHE_DIR, a directory
# nobody owns (the worker's artifact cache, e.g. supernet weights, and its
# decoded datasets under data/). Mount a volume there (Kubernetes: an
# emptyDir, deploy/k8s/worker.yaml) to keep it off the container's layer.
RUN mkdir -p /var/cache/nas && chown 65534:65534 /var/cache/nas
ENV NAS_CACHE_DIR=/var/cache/nas
VOLUME /var/cache/nas
# nobody:nogroup, numeric so that Kubernetes' runAsNonRoot can check it.
USER 65534:65534
EXPOSE 9101
ENTRYPOINT ["nas-worker", "--metrics_address=0.0.0.0:9101"]
CMD ["--controller=controller:50051", "--device=cpu", "--labels=device=cpu"]

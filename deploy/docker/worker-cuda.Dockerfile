# nas-worker image for NVIDIA GPU nodes: the worker built on Debian 13
# against Debian's CUDA build of LibTorch 2.6 (libtorch-cuda-dev, section
# contrib; CUDA 12 libraries from Debian's non-free section). Build from
# the repository root on a machine that reaches Debian's mirrors and
# NVIDIA's download server (see "cuDNN" below):
#   docker build -f deploy/docker/worker-cuda.Dockerfile -t nas-worker-cuda .
# Run with the NVIDIA container runtime, one container per GPU:
#   docker run --gpus device=0 nas-worker-cuda --controller=HOST:50051
# (Kubernetes: nvidia.com/gpu: 1 per pod, deploy/k8s/worker.yaml). The
# worker takes the container's GPU (--device=auto) and trains in mixed
# precision there; it exits with status 2 and says why if CUDA is not
# usable. docs/OPERATIONS.md, "GPU workers".
#
# Two packaging facts this file handles:
# - libcuda1. libtorch-cuda-2.6 depends on libcuda1, the user-space half
#   of the NVIDIA driver. In a container that library must be the host's,
#   matching the host's kernel module: the NVIDIA container runtime mounts
#   it in at start. Debian's copy is installed to satisfy the dependency and
#   then removed from the runtime image (dpkg --force-depends), so it can
#   neither shadow nor clash with the injected one.
# - cuDNN. Debian's nvidia-cudnn is an installer package: its postinst
#   downloads cuDNN 9 from NVIDIA after the license question (answered "I
#   Agree" below through debconf; building this image accepts NVIDIA's
#   cuDNN license). That is fine for a user's image build and impossible on
#   a machine without internet access, so this image is not built in CI;
#   scripts/debian13-check.sh builds and tests the same sources against
#   Debian 13's CPU LibTorch 2.6 instead.
# --- build stage: Debian 13 packages -------------------------------------------
FROM debian:13 AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' \
      /etc/apt/sources.list.d/debian.sources \
    && echo "nvidia-cudnn nvidia-cudnn/question select I Agree" \
      | debconf-set-selections \
    && apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev \
      libtorch-cuda-dev libabsl-dev libpqxx-dev prometheus-cpp-dev \
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
FROM debian:13-slim
ARG DEBIAN_FRONTEND=noninteractive
RUN sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' \
      /etc/apt/sources.list.d/debian.sources \
    && echo "nvidia-cudnn nvidia-cudnn/question select I Agree" \
      | debconf-set-selections \
    && apt-get update && apt-get install -y --no-install-recommends \
      libgrpc++1.51t64 libprotobuf32t64 libabsl20240722 libyaml-cpp0.8 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libtorch-cuda-2.6 \
      libopencv-core410 libopencv-imgproc410 libopencv-imgcodecs410 \
      zlib1g dataset-fashion-mnist ca-certificates \
    && dpkg --purge --force-depends libcuda1 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY --from=build /build/worker/nas-worker /usr/local/bin/
# The runtime injects the host's driver library (compute) and nvidia-smi
# (utility) into the container.
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
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
CMD ["--controller=controller:50051", "--device=auto", "--labels=gpu=nvidia"]

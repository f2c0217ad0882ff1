# nas-worker image for NVIDIA GPU nodes. Build from the repository root:
#   docker build -f deploy/docker/worker-cuda.Dockerfile -t nas-worker-cuda .
# Run with the NVIDIA container runtime (docker run --gpus all, or a
# Kubernetes node with the NVIDIA device plugin and nvidia.com/gpu limits).
#
# Debian packages only. The CUDA runtime libraries come from Debian 12's
# non-free section. LibTorch comes from TORCH_DEV_PACKAGE/TORCH_PACKAGE:
# Debian 12 ships LibTorch built for CPU only (libtorch-dev/libtorch1.13),
# so with the defaults the worker runs on the CPU of the GPU node and says
# so in its device ("cpu (...)", nas_worker_info{device}); point the two
# arguments at a CUDA build of LibTorch packaged for Debian to use the GPU
# (worker/device.cc picks CUDA whenever LibTorch reports it). See
# docs/OPERATIONS.md.
ARG TORCH_DEV_PACKAGE=libtorch-dev
ARG TORCH_PACKAGE=libtorch1.13
# --- build stage: Debian 12 packages only ------------------------------------
FROM debian:12 AS build
ARG TORCH_DEV_PACKAGE
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev \
      ${TORCH_DEV_PACKAGE} libabsl-dev libpqxx-dev prometheus-cpp-dev \
      libyaml-cpp-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY proto proto
COPY common common
COPY controller controller
COPY worker worker
COPY client client
COPY migrations migrations
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DNAS_BUILD_TESTS=OFF -DNAS_BUILD_BENCH=OFF
RUN cmake --build /build --target nas-worker

# --- runtime stage --------------------------------------------------------------
FROM debian:12-slim
ARG TORCH_PACKAGE
ARG DEBIAN_FRONTEND=noninteractive
RUN sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' \
      /etc/apt/sources.list.d/debian.sources \
    && apt-get update && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libyaml-cpp0.7 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 ${TORCH_PACKAGE} zlib1g \
      libcudart11.0 libcublas11 dataset-fashion-mnist ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/worker/nas-worker /usr/local/bin/
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER nobody
EXPOSE 9101
ENTRYPOINT ["nas-worker", "--metrics_address=0.0.0.0:9101"]
CMD ["--controller=controller:50051", "--labels=device=cuda"]

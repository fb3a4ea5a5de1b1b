# syntax=docker/dockerfile:1
# Strata's container image: a multi-stage build from this repository.
#
#   docker build -t strata:dev .
#   docker run -d --name strata -p 6379:6379 -v strata-data:/data strata:dev
#   docker run ... -v "$PWD/my.conf:/etc/strata/strata.conf:ro" strata:dev --maxclients 500
#
# The builder compiles strata-server (RocksDB's C++ through bindgen needs clang
# and libclang); the runtime is Debian slim with redis-tools (redis-cli, for
# the health check and scripts) and redis-sentinel 7.0, so the same image runs
# a sentinel of the group. It runs as the unprivileged user "strata"
# (uid 10001) and keeps its data in the /data volume. docs/docker.md
# describes the PMem variant (the same image, a DAX mount and `--engine pmem`).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang libclang-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep the registry and RocksDB's objects between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p strata --bin strata-server \
    && install -D -m 0755 target/release/strata-server /out/strata-server \
    && strip /out/strata-server

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
LABEL org.opencontainers.image.title="strata" \
      org.opencontainers.image.description="Redis-compatible key-value server on SSD (RocksDB) or persistent memory" \
      org.opencontainers.image.licenses="Apache-2.0"
# curl: the role-label sidecar of the plain Kubernetes manifests.
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-tools redis-sentinel curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 strata \
    && useradd --system --uid 10001 --gid strata --home-dir /data --shell /usr/sbin/nologin strata \
    && mkdir -p /data /etc/strata \
    && chown strata:strata /data
COPY --from=builder /out/strata-server /usr/local/bin/strata-server
COPY deploy/k8s/base/strata-probe.sh /usr/local/bin/strata-probe
COPY deploy/k8s/base/strata-start.sh /usr/local/bin/strata-start
COPY deploy/k8s/base/strata-prestop.sh /usr/local/bin/strata-prestop
COPY deploy/k8s/base/strata-role-label.sh /usr/local/bin/strata-role-label
COPY deploy/k8s/components/sentinel/sentinel-start.sh /usr/local/bin/strata-sentinel-start
COPY deploy/docker/entrypoint.sh /usr/local/bin/strata-entrypoint
COPY deploy/docker/strata.conf /etc/strata/strata.conf
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379 9121
# Healthy = answering, not loading, and (master, or a replica in sync).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["strata-probe", "ready"]
ENTRYPOINT ["strata-entrypoint"]
CMD []

# Redis from Debian's package, so the stack builds from one base image.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
# The redis user gets a fixed uid first (the package keeps an existing one), so Kubernetes
# manifests can name it; redis-sentinel for the Sentinel topology (deploy/kubernetes).
RUN groupadd --system --gid 999 redis && useradd --system --uid 999 --gid redis \
      --home-dir /var/lib/redis --no-create-home redis \
    && apt-get update && apt-get install -y --no-install-recommends redis-server redis-sentinel \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
# AOF with a one-second fsync window; noeviction so job records are never dropped.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data", \
     "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", \
     "--save", ""]

#!/usr/bin/env bash
# A/B of two builds' broker, gateway and worker together. The test harness starts the
# broker from build/, so each run copies one side's three binaries into build/ first,
# alternating which side goes first in each round; build/'s own binaries are put back
# at the end. Each side runs the closed loop (POST then long-poll, and POST ?wait_ms)
# and the open loop at 1,000 jobs/s. JSON lines go to stdout, with "round" the pair.
#
#   bench/ab_binaries.sh BEFORE_DIR AFTER_DIR [ROUNDS]   # each DIR holds broker, gateway, gpu_worker
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1 after=$2 rounds=${3:-5}
own=$(mktemp -d)
cp build/broker/broker build/gateway/gateway build/gpu_worker/gpu_worker "$own"/
put() {
  cp "$1/broker" build/broker/broker
  cp "$1/gateway" build/gateway/gateway
  cp "$1/gpu_worker" build/gpu_worker/gpu_worker
}
trap 'put "$own"; rm -rf "$own"' EXIT
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then order="before after"; else order="after before"; fi
  for side in $order; do
    if [[ $side == before ]]; then put "$before"; else put "$after"; fi
    build/bench/submit_bench --closed-loop --gateway "$side=build/gateway/gateway" \
      --gateway "$side-wait=build/gateway/gateway@30000" --rounds 1 --count 20000 |
      sed "s/\"round\":0/\"round\":$r/"
    build/bench/submit_bench --gateway "$side-open1000=build/gateway/gateway" --rate 1000 \
      --count 10000 --connections 8 --rounds 1 | sed "s/\"round\":0/\"round\":$r/"
  done
done

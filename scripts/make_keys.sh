#!/usr/bin/env bash
# CURVE keys for a stack on one machine, made with `batchq keygen` (kept if present):
#   DIR/broker.{key,pub}   the broker's pair; gateways and workers get broker.pub
#   DIR/gateway.{key,pub}  the gateway's pair, its public key listed in DIR/gateways/
#   DIR/worker.{key,pub}   the workers' pair, its public key listed in DIR/workers/
# A worker on another host makes its own pair there (`batchq keygen host-b`) and its
# host-b.pub is copied into the broker's DIR/workers/: the broker re-reads the folder.
#   scripts/make_keys.sh DIR BATCHQ_CLI
set -euo pipefail
dir=$1
cli=$2
mkdir -p "$dir/gateways" "$dir/workers"
chmod 700 "$dir"
for name in broker gateway worker; do
  [[ -e "$dir/$name.key" ]] || "$cli" keygen "$dir/$name" >/dev/null 2>&1
done
cp "$dir/gateway.pub" "$dir/gateways/gateway.pub"
cp "$dir/worker.pub" "$dir/workers/worker.pub"

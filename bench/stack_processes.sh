# shellcheck shell=bash
# Sourced by the bench scripts that start their own processes: a scratch folder `$tmp`,
# the `pids` array (every process added there is killed when the script exits, and
# `$tmp` removed), and `free_port`, a free loopback TCP port.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

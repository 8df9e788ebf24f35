#!/usr/bin/env bash
# BATCHQ_BIN_DIR (scripts/build.sh): the scripts take a build folder made on another machine
# instead of installing packages and building, and refuse one that holds no binaries.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$tmp/prebuilt/gateway" "$tmp/empty" "$tmp/fakebin"
printf '#!/bin/sh\n' >"$tmp/prebuilt/gateway/gateway"
chmod +x "$tmp/prebuilt/gateway/gateway"

# build.sh answers the folder, relative to the checkout as it answers build/.
got=$(BATCHQ_BIN_DIR="$tmp/prebuilt" scripts/build.sh)
[[ "$(realpath "$got")" == "$(realpath "$tmp/prebuilt")" ]] || fail "build.sh answered '$got'"
# ...and the normal build's flags still build: --sanitize is not redirected.
grep -q 'BATCHQ_BIN_DIR:-}" && $# -eq 0' scripts/build.sh || fail "build.sh redirects every build"

if BATCHQ_BIN_DIR="$tmp/empty" scripts/build.sh >/dev/null 2>"$tmp/err"; then
  fail "build.sh accepted a folder without binaries"
fi
grep -q "holds no gateway/gateway" "$tmp/err" || fail "no reason given: $(cat "$tmp/err")"

# deps.sh installs nothing: with every package reported missing, apt-get is not called.
printf '#!/bin/sh\nexit 1\n' >"$tmp/fakebin/dpkg-query"
printf '#!/bin/sh\ntouch %s/apt-called\nexit 1\n' "$tmp" >"$tmp/fakebin/apt-get"
cp "$tmp/fakebin/apt-get" "$tmp/fakebin/sudo"
chmod +x "$tmp/fakebin"/*
PATH="$tmp/fakebin:$PATH" BATCHQ_BIN_DIR="$tmp/prebuilt" scripts/deps.sh 2>"$tmp/err" ||
  fail "deps.sh failed with BATCHQ_BIN_DIR set: $(cat "$tmp/err")"
[[ ! -e "$tmp/apt-called" ]] || fail "deps.sh called apt-get with BATCHQ_BIN_DIR set"
# The check above can fail: without BATCHQ_BIN_DIR the same fake PATH reaches apt-get
# (which fails, so deps.sh stops there and touches nothing else).
PATH="$tmp/fakebin:$PATH" scripts/deps.sh >/dev/null 2>&1 || true
[[ -e "$tmp/apt-called" ]] || fail "the fake apt-get was never reachable"

# run.sh --help prints its whole header, the BATCHQ_BIN_DIR line at its end included.
scripts/run.sh --help | grep -q "BATCHQ_BIN_DIR runs binaries" || fail "run.sh --help cut short"
echo "ok"

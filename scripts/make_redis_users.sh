#!/usr/bin/env bash
# Redis ACL users for a stack: a random password per role (admin, which is Redis's
# default user, gateway, broker, worker, and for Sentinel deployments replica and
# sentinel) in DIR/ROLE.password (0600, kept if present) and DIR/users.acl, made from
# deploy/redis/users.acl.in with the passwords' SHA-256 (redis-server --aclfile).
# Each process then gets --redis-url redis://ROLE@HOST:PORT and
# --redis-password-file DIR/ROLE.password. DIR/sentinels.password is the password the
# sentinels themselves ask for (their requirepass; --redis-sentinel-password-file).
#   scripts/make_redis_users.sh DIR [KEY_PREFIX]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
prefix=${2:-bq:}
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
# Redis reads no comments in an ACL file: the template's stay in the template.
sed_args=(-e "/^#/d" -e "/^$/d" -e "s/@PREFIX@/$prefix/g")
for role in admin gateway broker worker replica sentinel; do
  file="$dir/$role.password"
  [[ -s $file ]] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file"
  hash=$(tr -d '\n' <"$file" | sha256sum | cut -d' ' -f1)
  sed_args+=(-e "s/@${role^^}_HASH@/$hash/")
done
[[ -s $dir/sentinels.password ]] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$dir/sentinels.password"
sed "${sed_args[@]}" "$root/deploy/redis/users.acl.in" >"$dir/users.acl.tmp"
mv "$dir/users.acl.tmp" "$dir/users.acl"

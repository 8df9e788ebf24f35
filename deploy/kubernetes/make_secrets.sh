#!/usr/bin/env bash
# Makes batchq's secrets for Kubernetes and creates them in the namespace (as Secrets;
# the material also stays in DIR, mode 0700, for your records or a vault):
#   batchq-curve        CURVE pairs of the broker, gateways and workers (public keys are
#                       the broker's allow-lists)
#   batchq-redis-users  a Redis ACL user per role with its password, the ACL file, and
#                       the sentinels' own password
#   batchq-admin-key    the bootstrap API key (tenant admin, every scope)
# Usage: deploy/kubernetes/make_secrets.sh DIR [NAMESPACE]   (needs kubectl and the
# `batchq` CLI; existing files in DIR are kept, so running it again changes nothing)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?usage: make_secrets.sh DIR [NAMESPACE]}
namespace=${2:-batchq}
cli=$(command -v batchq || echo "$root/build/cli/batchq")

"$root/scripts/make_keys.sh" "$dir/keys" "$cli"
"$root/scripts/make_redis_users.sh" "$dir/redis-users"
if [[ ! -s $dir/admin.key ]]; then
  (umask 077 && printf 'bq_%s_%s\n' "$(openssl rand -hex 6)" "$(openssl rand -hex 32)" \
    >"$dir/admin.key")
fi

apply() { kubectl -n "$namespace" create secret generic "$@" --dry-run=client -o yaml |
  kubectl apply -f -; }
apply batchq-curve \
  --from-file="$dir/keys/broker.key" --from-file="$dir/keys/broker.pub" \
  --from-file="$dir/keys/gateway.key" --from-file="$dir/keys/gateway.pub" \
  --from-file="$dir/keys/worker.key" --from-file="$dir/keys/worker.pub"
users=()
for file in users.acl admin.password gateway.password broker.password worker.password \
  replica.password sentinel.password sentinels.password; do
  users+=(--from-file="$dir/redis-users/$file")
done
apply batchq-redis-users "${users[@]}"
apply batchq-admin-key --from-file="$dir/admin.key"
echo "secrets made in namespace $namespace; the admin key is in $dir/admin.key" >&2

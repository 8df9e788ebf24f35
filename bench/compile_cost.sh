#!/usr/bin/env bash
# The compile CPU of single source files, each alone and one at a time, with the flags of
# CI's two builds: GCC as the normal build compiles (-O2 -g1), and clang-19 as the
# ASan+UBSan build does (-O1 -g1 and the sanitizers). For comparing a file's cost before
# and after a change (e.g. two checkouts), without the rest of a build beside it.
# Usage: bench/compile_cost.sh ROOT LABEL FILE...
#   ROOT   the checkout whose files to compile (its folder is the include root)
#   LABEL  the first word of each output line, e.g. base or new
#   FILE   a source path under ROOT, e.g. common/http_server.cpp
# Prints "LABEL gcc|clang USER+SYSTEM s WALL wall FILE" on stderr (GNU time).
set -euo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
root=$(cd "$1" && pwd)
label=$2
shift 2
defines=(-DBOOST_ALL_NO_LIB -DFMT_SHARED -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL
  -DSPDLOG_SHARED_LIB "-I$root")
# The paths the test harness (tests/support, which tests and benches include) is given
# by tests/CMakeLists.txt: their values do not change what compiling costs, so empty
# strings here. The names are read from that file, so a new one is not missed.
while read -r name; do
  defines+=("-D$name=\"\"")
done < <(sed -n '/target_compile_definitions(batchq_test_support/,/)$/p' \
  "$root/tests/CMakeLists.txt" | grep -o 'BATCHQ_[A-Z0-9_]*=' | tr -d =)
gcc_flags=(-O2 -g1 -DNDEBUG -Wall -Wextra -std=c++23)
clang_flags=(-g -Wall -Wextra "-fsanitize=address,undefined" -fno-omit-frame-pointer
  -fno-sanitize-recover=undefined -O1 -g1 -std=c++2b)
for file in "$@"; do
  [[ -f $root/$file ]] || { echo "$label: no $root/$file" >&2; exit 1; }
  /usr/bin/time -f "$label gcc   %U+%S s %e wall $file" \
    g++ "${defines[@]}" "${gcc_flags[@]}" -c "$root/$file" -o /dev/null
  /usr/bin/time -f "$label clang %U+%S s %e wall $file" \
    clang++-19 "${defines[@]}" "${clang_flags[@]}" -c "$root/$file" -o /dev/null
done

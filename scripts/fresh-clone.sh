#!/usr/bin/env bash
# Run make targets in a fresh clone of HEAD, the way a newcomer's machine would: a new
# directory (no bin/, .venv or node_modules), and empty pip, npm and Maven caches. With
# --cold-go the Go module and build caches start empty too (everything is downloaded
# and compiled); without it they are this machine's (warm). Prints each target's wall
# time. System programs (redis-server, java, chromium) are what this machine has:
# `make test` installs missing ones itself through scripts/deps.sh.
#
#   scripts/fresh-clone.sh [--cold-go] [--keep] [TARGET...]     (default: demo test)
#
# `make fresh-clone` runs it with the defaults. Committed work only: the clone is of HEAD.
set -euo pipefail
cd "$(dirname "$0")/.."

cold_go=0
keep=0
targets=()
for arg in "$@"; do
  case $arg in
    --cold-go) cold_go=1 ;;
    --keep) keep=1 ;;
    -*) echo "fresh-clone: unknown flag $arg" >&2; exit 2 ;;
    *) targets+=("$arg") ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(demo test)

work=$(mktemp -d "${TMPDIR:-/tmp}/floe-fresh.XXXXXX")
[[ $keep == 1 ]] || trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
git clone -q --no-hardlinks . "$work/floe"
mkdir -p "$work/cache"
export PIP_CACHE_DIR=$work/cache/pip npm_config_cache=$work/cache/npm MAVEN_REPO=$work/cache/m2
if [[ $cold_go == 1 ]]; then
  export GOMODCACHE=$work/cache/gomod GOCACHE=$work/cache/gobuild
fi
echo "fresh-clone: $(git rev-parse --short HEAD) in $work/floe (Go caches: $([[ $cold_go == 1 ]] && echo cold || echo warm); load $(cut -d' ' -f1-3 /proc/loadavg))"

summary=()
status=0
for target in "${targets[@]}"; do
  log=$work/$target.log
  start=$(date +%s%N)
  if make -C "$work/floe" "$target" > "$log" 2>&1; then result=ok; else result=FAILED; status=1; fi
  secs=$(( ($(date +%s%N) - start) / 1000000000 ))
  summary+=("$(printf '%-12s %-7s %5d s' "$target" "$result" "$secs")")
  echo "fresh-clone: make $target: $result in $secs s (log: $log)"
  if [[ $result == FAILED ]]; then
    tail -n 40 "$log"
    keep=1
    trap - EXIT
  fi
done
printf '%s\n' "${summary[@]}"
exit $status

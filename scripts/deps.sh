#!/usr/bin/env bash
# Make sure the system programs a group of targets needs are on this machine.
#
#   scripts/deps.sh GROUP...      GROUP: venv | go-tests | console-e2e | all
#
# Missing programs are installed through apt-get when this runs as root on a Debian or
# Ubuntu machine (as CI does, and as a fresh container or VM usually does). Otherwise it
# stops at once and prints the one command that installs them, so `make test` never runs
# for minutes before failing on a missing program. FLOE_NO_INSTALL=1 never installs.
#
# The Makefile calls it before the targets that need each group; nothing else does.
set -euo pipefail

# Each group: the programs it needs, as "check|Debian package" pairs. A check is a
# command name looked up on PATH, an absolute path tested for being executable, or
# py:MODULES (importable by python3).
group_needs() {
  case $1 in
    # The Python SDK's virtual environment (Debian splits venv and ensurepip out of python3).
    venv) echo "py:venv,ensurepip|python3-venv" ;;
    # Go tests start real Redis servers and Apache Iceberg's REST catalog test server (a jar
    # from Maven Central run by java; scripts/fetch-rest-fixture.sh fetches it with mvn).
    go-tests) echo "redis-server|redis-server java|openjdk-17-jre-headless mvn|maven" ;;
    # The console's end-to-end tests drive Debian's chromium through playwright-core.
    console-e2e) echo "/usr/bin/chromium|chromium" ;;
    all) for g in venv go-tests console-e2e; do group_needs "$g"; done ;;
    *) echo "deps.sh: unknown group '$1' (venv, go-tests, console-e2e, all)" >&2; exit 2 ;;
  esac
}

present() {
  local check=$1
  case $check in
    py:*) python3 -c "import ${check#py:}" 2> /dev/null ;;
    /*) [[ -x $check ]] ;;
    *) command -v "$check" > /dev/null ;;
  esac
}

[[ $# -gt 0 ]] || set -- all
missing=()
for group in "$@"; do
  for pair in $(group_needs "$group"); do
    present "${pair%%|*}" || missing+=("${pair#*|}")
  done
done
[[ ${#missing[@]} -gt 0 ]] || exit 0
# Unique, in order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ ${FLOE_NO_INSTALL:-} != 1 && $(id -u) == 0 ]] && command -v apt-get > /dev/null; then
  echo "deps.sh: installing ${missing[*]} (apt-get, as root)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends ${missing[*]} > /dev/null
  # Debian's redis-server package may start a system service; Floe's tests start their
  # own servers on free ports and need none.
  if command -v systemctl > /dev/null; then systemctl stop redis-server 2> /dev/null || true; fi
  exit 0
fi

echo "deps.sh: this needs ${missing[*]}, which this machine lacks. Install with:" >&2
if [[ $(id -u) == 0 ]]; then
  echo "    $cmd" >&2
else
  echo "    sudo $cmd" >&2
fi
exit 1

# Sourced by scripts/demo.sh and examples/*/run.sh: starts `floe serve` on the
# embedded default (examples/floe.yaml) with the pricing example ingested and
# materialized. Needs bin/floe (make build) and python3. Sets url and pid, and stops
# the server when the calling script exits.
#
#   start_example_server <data dir> <rows>
#   http URL [JSON]      GET URL (or POST the JSON body) and print the answer; fails on
#                        an error status or no answer, like curl -fsS, with python3 only

http() {
  python3 - "$@" <<'PY'
import sys, urllib.request
url, body = sys.argv[1], (sys.argv[2].encode() if len(sys.argv) > 2 else None)
req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"} if body else {})
try:
    with urllib.request.urlopen(req, timeout=10) as resp:
        print(resp.read().decode())
except Exception as e:
    print(f"{url}: {e}", file=sys.stderr)
    sys.exit(1)
PY
}

start_example_server() {
  local data=$1 rows=$2
  floe=$root/bin/floe
  port=${FLOE_DEMO_PORT:-8080}
  export FLOE_LISTEN=127.0.0.1:$port
  export FLOE_DATA_DIR=$data
  url=http://$FLOE_LISTEN
  config=$root/examples/floe.yaml

  rm -rf "$data"
  mkdir -p "$data"
  log=$data/server.log

  echo "==> writing example data ($rows users, event times in the last hours)"
  "$floe" example-data --project pricing --out "$data/input" --rows "$rows" > "$data/files.txt"
  cat "$data/files.txt"

  echo "==> starting floe serve on $url (log: $log)"
  "$floe" serve --config "$config" > "$log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if http "$url/readyz" > /dev/null 2>&1; then break; fi
    if ! kill -0 $pid 2>/dev/null; then cat "$log"; echo "floe serve exited"; exit 1; fi
    sleep 0.1
  done
  http "$url/readyz"

  echo "==> ingesting into Iceberg (SQL catalog on SQLite, warehouse $data/warehouse)"
  while read -r view file; do
    "$floe" ingest --config "$config" --view "$view" --file "$file"
  done < "$data/files.txt"

  echo "==> materializing the new snapshots into the server's online store (its follower may already have)"
  "$floe" materialize --server "$url"
}

#!/usr/bin/env bash
# make demo: start Floe on its embedded default, ingest the pricing example, publish
# it to the online store, and read it over HTTP/JSON and from the Python SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
floe=$root/bin/floe
port=${FLOE_DEMO_PORT:-8080}
export FLOE_LISTEN=127.0.0.1:$port
url=http://$FLOE_LISTEN
config=$root/examples/floe.yaml
data=$root/.floe/demo

rm -rf "$data"
mkdir -p "$data"
log=$data/server.log

echo "==> writing example data (1,000 users, event times in the last hours)"
"$floe" example-data --project pricing --out "$data/input" --rows 1000 > "$data/files.txt"
cat "$data/files.txt"

echo "==> starting floe serve on $url (log: $log)"
"$floe" serve --config "$config" > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -fsS "$url/readyz" > /dev/null 2>&1; then break; fi
  if ! kill -0 $pid 2>/dev/null; then cat "$log"; echo "floe serve exited"; exit 1; fi
  sleep 0.1
done
curl -fsS "$url/readyz"; echo

echo "==> ingesting into Iceberg (SQL catalog on SQLite, warehouse $data/warehouse)"
while read -r view file; do
  "$floe" ingest --config "$config" --view "$view" --file "$file"
done < "$data/files.txt"

echo "==> materializing the new snapshots into the server's online store (its follower may already have)"
"$floe" materialize --server "$url"

echo "==> GET $url/v1/features/user/42"
curl -fsS "$url/v1/features/user/42"; echo

echo "==> GetOnlineFeatures over Connect JSON"
curl -fsS -H 'Content-Type: application/json' \
  -d '{"featureService":"pricing_agent_v1","entities":[{"joinKey":"user_id","int64Values":{"values":["42","7","999999"]}}]}' \
  "$url/floe.v1.ServingService/GetOnlineFeatures"; echo

echo "==> Python SDK"
"$root/.venv/bin/python" - "$FLOE_LISTEN" <<'PY'
import sys
import floe
from floe.features.pricing import PricingAgentV1

client = floe.Client(sys.argv[1])
res = client.get_online_features(PricingAgentV1.NAME, {"user_id": [42, 7, 999999]})
print("features:", res.feature_names)
print("statuses:\n", res.statuses)
print("vector (object dtype: city is a string):\n", res.to_numpy())
PY
echo "==> demo done; the server stops now (run it yourself: bin/floe serve --config examples/floe.yaml)"

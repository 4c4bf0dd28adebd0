#!/usr/bin/env bash
# make demo: start Floe on its embedded default, ingest the pricing example, publish
# it to the online store, and read it over HTTP/JSON and from the Python SDK.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=scripts/example-server.sh
source "$root/scripts/example-server.sh"
start_example_server "$root/.floe/demo" 1000

echo "==> GET $url/v1/features/user/42"
http "$url/v1/features/user/42"

echo "==> GetOnlineFeatures over Connect JSON"
http "$url/floe.v1.ServingService/GetOnlineFeatures" \
  '{"featureService":"pricing_agent_v1","entities":[{"joinKey":"user_id","int64Values":{"values":["42","7","999999"]}}]}'

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

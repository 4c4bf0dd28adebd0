#!/usr/bin/env bash
# make example-keras: start Floe with the pricing example (as make demo does), then
# train a Keras model on point-in-time training data, save it, and score users online.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
# shellcheck source=scripts/example-server.sh
source "$root/scripts/example-server.sh"
start_example_server "$root/.floe/keras_pricing" 1000

export TF_CPP_MIN_LOG_LEVEL=2  # TensorFlow (behind Keras' string layers) logs at import
echo "==> training (examples/keras_pricing/pricing_model.py)"
KERAS_BACKEND=jax "$root/.venv/bin/python" examples/keras_pricing/pricing_model.py \
  --server "$FLOE_LISTEN" --users 1000 --epochs 5 --out "$root/.floe/keras_pricing/model.keras"

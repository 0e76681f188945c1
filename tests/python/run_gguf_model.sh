#!/usr/bin/env bash
# Runs test_gguf --model on the real SmolLM2 GGUF. Usage: run_gguf_model.sh ROOT TEST_GGUF.
# The model is $AXIAL_MODEL, else what scripts/fetch-model.sh prints; exit 77 (ctest SKIP) without one.
root=$1
model=${AXIAL_MODEL:-}
if [ -z "$model" ]; then
    model=$(bash "$root/scripts/fetch-model.sh") || model=
fi
if [ -z "$model" ] || [ ! -f "$model" ]; then
    echo "SKIP: no model file (set AXIAL_MODEL or run scripts/fetch-model.sh)"
    exit 77
fi
exec "$2" --model "$model"

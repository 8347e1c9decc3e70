#!/bin/sh
# Entry point of docker/sglang.Dockerfile: SGLang with scorecar's patches, configured from env.
#   SGLANG_MODEL_PATH          model path or hub id (required)
#   SGLANG_HOST, SGLANG_PORT   listen address (0.0.0.0, 30000)
#   SGLANG_DP_SIZE             data-parallel replicas inside this server (1); scale GPUs with it
#   SGLANG_SERVED_MODEL_NAME   optional --served-model-name
#   SGLANG_MEM_FRACTION_STATIC optional --mem-fraction-static
#   SGLANG_API_KEY             optional --api-key (scorecar then needs SCORECAR_BACKEND_API_KEY)
# The flags the patches require (patches/README.md) are always set: --disable-radix-cache,
# --chunked-prefill-size -1, --tp-size 1. Container arguments are appended unchanged.
set -eu
: "${SGLANG_MODEL_PATH:?SGLANG_MODEL_PATH must name the model (a path or a hub id)}"
set -- --model-path "$SGLANG_MODEL_PATH" \
  --host "${SGLANG_HOST:-0.0.0.0}" --port "${SGLANG_PORT:-30000}" \
  --dp-size "${SGLANG_DP_SIZE:-1}" --tp-size 1 \
  --disable-radix-cache --chunked-prefill-size -1 \
  ${SGLANG_SERVED_MODEL_NAME:+--served-model-name "$SGLANG_SERVED_MODEL_NAME"} \
  ${SGLANG_MEM_FRACTION_STATIC:+--mem-fraction-static "$SGLANG_MEM_FRACTION_STATIC"} \
  ${SGLANG_API_KEY:+--api-key "$SGLANG_API_KEY"} \
  "$@"
exec python3 -m scorecar_sglang.launch "$@"

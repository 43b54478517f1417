#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Helm 4 post-renderer entry point: rendered manifests on stdin, the same
# stream with labelled migration Jobs made into hooks on stdout.
#   HOOKWARDEN_BIN     the hookwarden binary (default: hookwarden on PATH)
#   HOOKWARDEN_POLICY  policy file (default: $HELM_PLUGIN_DIR/policy.yaml, else
#                      $HELM_PLUGIN_DIR/policy.json, when it exists; else the
#                      built-in default policy)
#   HOOKWARDEN_LOG     also append hookwarden's warnings and denials here; Helm
#                      captures a post-renderer's stderr and may not show it
# Extra arguments (helm --post-renderer-args) go to `hookwarden render`, e.g.
#   --post-renderer-args=--image-pull-secret=registry-credentials
set -eu
bin=${HOOKWARDEN_BIN:-hookwarden}
policy=${HOOKWARDEN_POLICY:-}
if [ -z "$policy" ] && [ -n "${HELM_PLUGIN_DIR:-}" ]; then
  for f in "$HELM_PLUGIN_DIR/policy.yaml" "$HELM_PLUGIN_DIR/policy.json"; do
    if [ -f "$f" ]; then
      policy=$f
      break
    fi
  done
fi
if [ -n "$policy" ]; then
  set -- --config "$policy" "$@"
fi
if [ -n "${HOOKWARDEN_LOG:-}" ]; then
  exec "$bin" render -f - "$@" 2>>"$HOOKWARDEN_LOG"
fi
exec "$bin" render -f - "$@"

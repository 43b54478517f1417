#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Helm 3 post-renderer entry point:
#   helm upgrade --install shop ./chart --post-renderer ./deploy/helm-plugin/helm3-post-renderer.sh
# Helm 3 sorts hooks from the rendered chart before it runs a post-renderer,
# and pipes it only the release resources, so a helm.sh/hook annotation
# added here would be inert (and would hide the Job from the webhook's
# not-a-hook rule). This wrapper therefore changes only what takes effect:
# restartPolicy, imagePullSecrets and the Job settings. Everything else is
# hookwarden-render.sh (same variables, same extra arguments).
exec "$(dirname "$0")/hookwarden-render.sh" --hook-annotations=false "$@"

#!/usr/bin/env bash
# Validates the operations files (deploy/, k8s/, docker-compose.yml):
#   1. promtool: Prometheus config, alert rules and the rules' unit tests (alerts.test.yml);
#   2. kubectl kustomize: both kustomizations build;
#   3. node --test deploy/test/: every dashboard/alert/autoscaler metric exists in the code, probes, ports,
#      grace periods, volumes, queues and GPU settings agree with the services (needs only Node).
# Tools that are absent are reported as SKIPPED; `--install-tools` installs promtool from Debian first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

skipped=()

if [[ "${1:-}" == "--install-tools" ]] && ! command -v promtool >/dev/null 2>&1; then
  echo "== installing promtool (Debian package prometheus)"
  SUDO=""
  if [[ "$(id -u)" -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  # A failed install (no apt-get, no root, no network) is reported as SKIPPED, not fatal.
  if ! { command -v apt-get >/dev/null 2>&1 \
    && $SUDO apt-get update -qq \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }; then
    echo "   promtool could not be installed (${SUDO:+sudo }apt-get install prometheus failed); continuing without it" >&2
    skipped+=("promtool install failed")
  fi
fi

if command -v promtool >/dev/null 2>&1; then
  echo "== promtool ($(promtool --version 2>&1 | head -n1))"
  promtool check config deploy/prometheus/prometheus.yml
  promtool check rules deploy/prometheus/alerts.yml
  promtool test rules deploy/prometheus/alerts.test.yml
else
  skipped+=("promtool checks: promtool not installed (apt-get install prometheus, or run with --install-tools)")
fi

if command -v kubectl >/dev/null 2>&1; then
  echo "== kubectl kustomize"
  for k in k8s/base k8s/overlays/gpu; do
    kubectl kustomize "$k" >/dev/null
    echo "  $k builds"
  done
else
  skipped+=("kubectl kustomize: kubectl not installed (deploy/lib/kustomize-lite.mjs builds the manifests for the Node checks)")
fi

if docker compose version >/dev/null 2>&1; then
  echo "== docker compose config"
  # The compose file requires OMNIAFFECT_SERVICE_TOKEN (${VAR:?}); validating its shape needs a placeholder.
  export OMNIAFFECT_SERVICE_TOKEN="${OMNIAFFECT_SERVICE_TOKEN:-compose-config-check-placeholder-0123456789}"
  docker compose -f docker-compose.yml config -q
  docker compose -f docker-compose.yml --profile gpu --profile monitoring config -q
else
  skipped+=("docker compose config: the compose plugin is not installed (the Node checks parse docker-compose.yml)")
fi

echo "== node --test deploy/test/"
node --test deploy/test/

for s in "${skipped[@]}"; do echo "SKIPPED: $s"; done

#!/usr/bin/env bash
# Validates the operations files (deploy/, k8s/, docker-compose.yml):
#   1. promtool: Prometheus config, alert rules and the rules' unit tests (alerts.test.yml);
#   2. kubectl kustomize: every kustomization (base and each overlay) builds;
#   3. node --test deploy/test/: every object kubectl builds, KEDA ScaledObjects included, validates against
#      its API schema (kubernetes-models, @kubernetes-models/keda); every dashboard/alert/autoscaler metric
#      exists in the built metric registry (PromQL read by @prometheus-io/lezer-promql), and probes, ports,
#      grace periods, volumes, queues and GPU settings agree with the built services (`pnpm build` first).
# Tools that are absent are reported as SKIPPED (without kubectl the manifest checks are skipped too);
# `--install-tools` installs promtool (Debian package prometheus) and kubectl (where an apt source has it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

skipped=()

install_apt() { # <command> <package>
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "== installing $1 (apt package $2)"
  local SUDO=""
  if [[ "$(id -u)" -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  # A failed install (no apt-get, no root, no network, no apt source with the package) is reported as SKIPPED, not fatal.
  if ! { command -v apt-get >/dev/null 2>&1 \
    && $SUDO apt-get update -qq \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null; }; then
    echo "   $1 could not be installed (${SUDO:+sudo }apt-get install $2 failed); continuing without it" >&2
    skipped+=("$1 install failed")
  fi
}
if [[ "${1:-}" == "--install-tools" ]]; then
  install_apt promtool prometheus
  # kubectl is not in Debian's own archive: this works where the Kubernetes apt source (pkgs.k8s.io) is configured.
  install_apt kubectl kubectl
fi

if [[ ! -f packages/core/dist/src/index.js ]]; then
  echo "deploy/check.sh: the Node checks read the built modules: run \`pnpm install\` (or \`pnpm build\`) first" >&2
  exit 1
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
  while IFS= read -r k; do
    kubectl kustomize "$k" >/dev/null
    echo "  $k builds"
  done < <(find k8s -name kustomization.yaml -printf '%h\n' | sort)
else
  skipped+=("kubectl kustomize and every manifest check: kubectl not installed (run with --install-tools)")
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

#!/usr/bin/env bash
# Checks the shipped deployment files with the real tools (ctest runs each
# subcommand as a test of its own; exit 0 = pass, anything else = fail):
#   check_deploy.sh prometheus  promtool check config on deploy/prometheus
#   check_deploy.sh compose     docker-compose config accepts
#                               docker-compose.yml, with the five services
#   check_deploy.sh k8s         deploy/k8s/*.yaml against the Kubernetes
#                               schemas (npm kubernetes-models, installed by
#                               scripts/install-deps.sh), the required
#                               objects present, and promtool on the
#                               Prometheus ConfigMap
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "check_deploy.sh: FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "$1 not found (run scripts/install-deps.sh)"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case "${1:-}" in
  prometheus)
    need promtool
    promtool check config "$repo/deploy/prometheus/prometheus.yml"
    ;;
  compose)
    need docker-compose
    cd "$repo"
    docker-compose -f docker-compose.yml config -q
    services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
    [[ "$services" == "controller grafana postgres prometheus worker " ]] ||
      fail "services are '$services'"
    # The provisioning and the scrape configuration are mounted.
    config=$(docker-compose -f docker-compose.yml config)
    for mount in deploy/grafana/provisioning deploy/grafana/dashboards \
                 deploy/prometheus/prometheus.yml; do
      grep -q "$repo/$mount" <<<"$config" || fail "$mount is not mounted"
    done
    echo "docker-compose config: OK ($services)"
    ;;
  k8s)
    need node
    need promtool
    modules=${NAS_CACHE_DIR:-$HOME/.cache/nas-service}/npm-kube/node_modules
    [[ -d "$modules/kubernetes-models" ]] ||
      fail "$modules/kubernetes-models missing (run scripts/install-deps.sh)"
    NODE_PATH="$modules" node "$repo/tests/deploy/validate_k8s.js" "$tmp" \
      "$repo"/deploy/k8s/*.yaml
    all=$(cat "$repo"/deploy/k8s/*.yaml)
    for want in "kind: StatefulSet" "volumeClaimTemplates:" "kind: Secret" \
                "nvidia.com/gpu: 1" "name: controller" "kind: ConfigMap"; do
      grep -qF "$want" <<<"$all" || fail "deploy/k8s lacks '$want'"
    done
    [[ -f "$tmp/prometheus-config-prometheus.yml" ]] ||
      fail "no prometheus.yml in a ConfigMap"
    promtool check config "$tmp/prometheus-config-prometheus.yml"
    ;;
  *)
    echo "usage: check_deploy.sh prometheus|compose|k8s" >&2
    exit 2
    ;;
esac

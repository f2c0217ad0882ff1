#!/usr/bin/env bash
# Checks the shipped deployment files with the real tools (ctest runs each
# subcommand as a test of its own; exit 0 = pass, anything else = fail):
#   check_deploy.sh prometheus  promtool check config on deploy/prometheus
#   check_deploy.sh compose     docker-compose config accepts
#                               docker-compose.yml, with the five services
#   check_deploy.sh k8s         deploy/k8s/*.yaml against the Kubernetes
#                               API models of Debian's python3-kubernetes
#                               (validate_k8s.py: unknown fields, types,
#                               required fields), the required objects
#                               present, and promtool on the Prometheus
#                               ConfigMap
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
    need promtool
    /usr/bin/python3 -c "import kubernetes" 2>/dev/null ||
      fail "python3-kubernetes missing (run scripts/install-deps.sh)"
    /usr/bin/python3 "$repo/tests/deploy/validate_k8s.py" "$tmp" \
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

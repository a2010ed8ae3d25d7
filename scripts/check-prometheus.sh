#!/usr/bin/env bash
# Checks the Prometheus side of contact-kpi: rule files (`promtool check rules`),
# the shipped configuration (`promtool check config`) and the rule unit tests
# (`promtool test rules`). Exits non-zero on the first failure.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/deploy/prometheus"
PROMTOOL=${PROMTOOL_BIN:-promtool}
if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "check-prometheus: promtool not found (install the Debian package 'prometheus' or set PROMTOOL_BIN)" >&2
  exit 1
fi
shopt -s nullglob
rules=(rules/*.yml)
tests=(tests/*.yml)
if [ ${#rules[@]} -eq 0 ] || [ ${#tests[@]} -eq 0 ]; then
  echo "check-prometheus: no rule files or no rule tests under deploy/prometheus" >&2
  exit 1
fi
echo "== promtool check rules"
"$PROMTOOL" check rules "${rules[@]}"
echo "== promtool check config"
"$PROMTOOL" check config prometheus.yml
echo "== promtool test rules"
"$PROMTOOL" test rules "${tests[@]}"
echo "check-prometheus: OK (${#rules[@]} rule files, ${#tests[@]} rule test files)"

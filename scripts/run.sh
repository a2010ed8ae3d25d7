#!/usr/bin/env bash
# `make run`: broker + simulator + service on this machine; Ctrl-C stops all of it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
BIN=${BIN:-target/debug/contact-kpi}
mkdir -p data/logs
scripts/broker.sh up
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping simulator and service..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/broker.sh down
}
trap cleanup INT TERM EXIT
export CONTACT_KPI__PIPELINE__STATE_DIR=${CONTACT_KPI__PIPELINE__STATE_DIR:-data/state}
# The demo broker keeps its data in sqlite, and Tansu's sqlite engine neither
# aborts the transaction of a producer that died nor lists aborted records to
# read_committed readers (tools/tansu/ fixes that for the in-memory engine the
# tests use), so the demo runs the pipeline without transactions. Production
# brokers keep the default (true).
export CONTACT_KPI__PIPELINE__TRANSACTIONS=${CONTACT_KPI__PIPELINE__TRANSACTIONS:-false}
# A compact demo: 1h windows close every simulated hour (one wall minute at 60x).
# Tansu completes a group join only after the rebalance timeout (= max.poll.interval.ms);
# a short one lets the demo consume within seconds instead of minutes.
env "CONTACT_KPI__KAFKA__PROPERTIES__MAX.POLL.INTERVAL.MS=10000" \
    "CONTACT_KPI__KAFKA__PROPERTIES__SESSION.TIMEOUT.MS=6000" \
    "CONTACT_KPI__KAFKA__PROPERTIES__HEARTBEAT.INTERVAL.MS=1000" \
    "$BIN" serve >data/logs/service.log 2>&1 &
pids+=($!)
"$BIN" simulate --rate "${RATE:-50}" --agents "${AGENTS:-25}" --speedup "${SPEEDUP:-60}" >data/logs/simulate.log 2>&1 &
pids+=($!)
cat <<MSG

contact-kpi is running.
  metrics:     http://127.0.0.1:9464/metrics   (KPI series appear within a minute)
  health:      http://127.0.0.1:9464/healthz   readiness: http://127.0.0.1:9464/readyz
  topics:      contact-events (input), kpi-aggregates (compacted), kpi-alerts, contact-events.dlq
  logs:        data/logs/service.log, data/logs/simulate.log, data/broker/tansu.log
  try:         curl -s 127.0.0.1:9464/metrics | grep contact_kpi_empathy_shown_total | head
Press Ctrl-C to stop everything.
MSG
wait -n "${pids[@]}" || true
if ! kill -0 "${pids[0]}" 2>/dev/null; then
  echo "the service stopped; last lines of data/logs/service.log:" >&2
  grep -v '^  ' data/logs/service.log | tail -n 8 >&2
fi

#!/usr/bin/env bash
# Measures one instance of the pipeline (all three stages, release build) on a
# local Tansu broker (memory engine), and prints what issue #5 asks for:
#   1. throughput on a backlog of $EVENTS events, next to a bare consumer
#      reading the same topic on the same broker (the ratio is the figure);
#   2. the instance's memory after that backlog;
#   3. restore time of the state it built (SIGTERM, restart, until ready);
#   4. p99 event-to-aggregate latency at a steady live rate.
# Usage: scripts/measure-pipeline.sh   (EVENTS, AGENTS, LIVE_RATE, LIVE_SECONDS to change)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
EVENTS=${EVENTS:-1000000}
AGENTS=${AGENTS:-200}
LIVE_RATE=${LIVE_RATE:-1000}
LIVE_SECONDS=${LIVE_SECONDS:-60}
TOOLS_DIR=${TOOLS_DIR:-$HOME/.cache/contact-kpi/tools}
bash scripts/broker.sh install
TANSU=${TANSU_BIN:-$TOOLS_DIR/bin/tansu}
cargo build --release --quiet --bin contact-kpi --example pipeline_load
BIN=target/release/contact-kpi
LOAD=target/release/examples/pipeline_load

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/ckpi-measure.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

port=$(free_port)
(cd "$work" && exec "$TANSU" broker --listener-url "tcp://127.0.0.1:$port" \
  --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine memory://tansu/ \
  >"$work/tansu.log" 2>&1) &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

http=$(free_port)
run=m$$
export CONTACT_KPI__KAFKA__BROKERS=127.0.0.1:$port
export CONTACT_KPI__KAFKA__GROUP_ID=g-$run
export CONTACT_KPI__TOPICS__INPUT=in-$run
export CONTACT_KPI__TOPICS__INTERNAL_PREFIX=ckpi-$run
facts=ckpi-$run.agent-facts
export CONTACT_KPI__PIPELINE__TRANSACTIONS=false
export CONTACT_KPI__PIPELINE__STATE_DIR=$work/state
export CONTACT_KPI__HTTP__LISTEN=127.0.0.1:$http
# librdkafka properties have dots, which no shell variable can: pass them with env.
props=("CONTACT_KPI__KAFKA__PROPERTIES__MAX.POLL.INTERVAL.MS=10000"
       "CONTACT_KPI__KAFKA__PROPERTIES__SESSION.TIMEOUT.MS=6000"
       "CONTACT_KPI__KAFKA__PROPERTIES__HEARTBEAT.INTERVAL.MS=1000"
       "CONTACT_KPI__KAFKA__PROPERTIES__FETCH.WAIT.MAX.MS=20")
export RUST_LOG=${RUST_LOG:-info,rdkafka=warn}
$LOAD create >/dev/null

# sum_of BODY NAME FILTER: the sum of NAME's series whose labels contain FILTER.
sum_of() {
  awk -v n="$2" -v f="$3" '$1 ~ "^"n"({|$)" && index($1, f) { s += $2 } END { printf "%.0f\n", s }' <<<"$1"
}
metric() { sum_of "$(curl -s "http://127.0.0.1:$http/metrics")" "$1" "$2"; }
serve() { env "${props[@]}" "$BIN" serve >>"$work/service.log" 2>&1 & svc=$!; pids+=($svc); }

echo "== producing $EVENTS simulated events ($AGENTS agents) to in-$run"
t0=$(date +%s.%N)
"$BIN" simulate --rate 1000000 --speedup 1000000 --agents "$AGENTS" --events "$EVENTS" >"$work/simulate.log" 2>&1
t1=$(date +%s.%N)
echo "   produced in $(calc "$t1 - $t0") s"

echo "== bare consumer on the same topic"
env "${props[@]}" $LOAD consume "$EVENTS"

echo "== one instance, all stages, on the backlog"
serve
while [ "$(metric contact_kpi_records_consumed_total "topic=\"in-$run\"")" = 0 ]; do sleep 0.05; done
start=$(date +%s.%N)
cfacts=ckpi-$run.contact-facts
caught_up() {
  local m inp cp cc ap ac
  m=$(curl -s "http://127.0.0.1:$http/metrics")
  inp=$(sum_of "$m" contact_kpi_records_consumed_total "topic=\"in-$run\"")
  cp=$(sum_of "$m" contact_kpi_records_produced_total "topic=\"$cfacts\"")
  cc=$(sum_of "$m" contact_kpi_records_consumed_total "topic=\"$cfacts\"")
  ap=$(sum_of "$m" contact_kpi_records_produced_total "topic=\"$facts\"")
  ac=$(sum_of "$m" contact_kpi_records_consumed_total "topic=\"$facts\"")
  produced=$ap
  [ "$inp" -ge "$EVENTS" ] && [ "$cp" -gt 0 ] && [ "$cc" -ge "$cp" ] && [ "$ap" -gt 0 ] && [ "$ac" -ge "$ap" ]
}
# Done when every stage consumed all its upstream produced, three polls in a row.
streak=0
while [ $streak -lt 3 ]; do
  if caught_up; then
    [ $streak -eq 0 ] && end=$(date +%s.%N)
    streak=$((streak + 1))
  else
    streak=0
  fi
  sleep 0.1
done
secs=$(calc "$end - $start")
echo "   $EVENTS events through all three stages in $secs s = $(calc "$EVENTS / $secs") events/s"
echo "   (from its first consumed record until every stage consumed all its input; $produced agent facts)"
sleep 2
echo "== memory after $EVENTS events"
grep -E 'VmRSS|VmHWM' "/proc/$svc/status" | sed 's/^/   /'
for s in assemble repeats aggregate; do
  echo "   changelog bytes written by $s: $(metric contact_kpi_changelog_bytes_total "stage=\"$s\"")"
done

echo "== restore: SIGTERM, restart, until ready"
kill -TERM "$svc"; wait "$svc" || true
t0=$(date +%s.%N)
serve
until curl -sf "http://127.0.0.1:$http/readyz" >/dev/null; do sleep 0.05; done
t1=$(date +%s.%N)
echo "   ready $(calc "$t1 - $t0") s after start (includes the group joins)"
for s in assemble repeats aggregate; do
  echo "   $s: restored $(metric contact_kpi_changelog_restored_records_total "stage=\"$s\"") records," \
    "$(metric contact_kpi_changelog_restored_bytes "stage=\"$s\"") bytes in" \
    "$(curl -s "http://127.0.0.1:$http/metrics" | awk -v s="stage=\"$s\"" '$1 ~ /^contact_kpi_restore_duration_seconds/ && index($1, s) {print $2}') s"
done

echo "== live: $LIVE_RATE events/s for $LIVE_SECONDS s"
"$BIN" simulate --rate "$LIVE_RATE" --speedup 60 --agents "$AGENTS" --seed 2 \
  --events $((LIVE_RATE * LIVE_SECONDS)) >>"$work/simulate.log" 2>&1
sleep 3
curl -s "http://127.0.0.1:$http/metrics" | awk '
  /^contact_kpi_event_to_aggregate_seconds_bucket/ {
    match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5); n++; les[n] = le; cnt[n] = $2 }
  /^contact_kpi_event_to_aggregate_seconds_count/ { total = $2 }
  END {
    for (i = 1; i <= n; i++) if (cnt[i] >= 0.5 * total) { p50 = les[i]; break }
    for (i = 1; i <= n; i++) if (cnt[i] >= 0.99 * total) { p99 = les[i]; break }
    printf "   %d publishes; worst event per publish: p50 <= %s s, p99 <= %s s\n", total, p50, p99 }'
echo "(logs in $work)"

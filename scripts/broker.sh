#!/usr/bin/env bash
# Local Kafka-protocol broker (Tansu) for `make run` and the tests.
#   scripts/broker.sh install          build Tansu into the tools folder once (about 10 minutes)
#   scripts/broker.sh up [PORT]        start it on 127.0.0.1:PORT (default 9092), sqlite storage in data/broker
#   scripts/broker.sh down             stop it
#   scripts/broker.sh status
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
TOOLS_DIR=${TOOLS_DIR:-$HOME/.cache/contact-kpi/tools}
TANSU_VERSION=0.6.0
TANSU=${TANSU_BIN:-$TOOLS_DIR/bin/tansu}
PORT=${2:-${BROKER_PORT:-9092}}
DATA_DIR=${BROKER_DATA_DIR:-$here/data/broker}
PID_FILE=$DATA_DIR/tansu.pid
LOG_FILE=$DATA_DIR/tansu.log

install() {
  if [ -x "$TANSU" ] && "$TANSU" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    return 0
  fi
  echo "installing tansu $TANSU_VERSION into $TOOLS_DIR (first time only, ~10 minutes)" >&2
  # Default features build a broker that cannot start: it needs the storage engines.
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql --root "$TOOLS_DIR"
}

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "broker did not open 127.0.0.1:$PORT; see $LOG_FILE" >&2
  return 1
}

case "${1:-}" in
  install) install ;;
  up)
    install
    mkdir -p "$DATA_DIR"
    if running; then echo "broker already running (pid $(cat "$PID_FILE"))"; exit 0; fi
    # sqlite keeps topics and records across broker restarts; the path is relative
    # to the broker's working directory (an absolute sqlite:/// path gets mangled).
    # In its own session, so a Ctrl-C in `make run` reaches the service first and
    # the broker is stopped last (by pid, after the service has checkpointed).
    (cd "$DATA_DIR" && setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
        "$TANSU" broker \
        --listener-url "tcp://127.0.0.1:$PORT" \
        --advertised-listener-url "tcp://127.0.0.1:$PORT" \
        --storage-engine "sqlite://tansu.db" >"$LOG_FILE" 2>&1 </dev/null &)
    for _ in $(seq 1 50); do [ -s "$PID_FILE" ] && break; sleep 0.1; done
    wait_port
    echo "broker up on 127.0.0.1:$PORT (pid $(cat "$PID_FILE"), data in $DATA_DIR)"
    ;;
  down)
    if running; then
      kill "$(cat "$PID_FILE")" && sleep 0.5
      running && kill -9 "$(cat "$PID_FILE")" || true
      echo "broker stopped"
    fi
    rm -f "$PID_FILE"
    ;;
  status)
    if running; then echo "running (pid $(cat "$PID_FILE"))"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 install|up [PORT]|down|status" >&2; exit 2 ;;
esac

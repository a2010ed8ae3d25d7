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

# Tansu 0.6.0 with the fixes in tools/tansu/*.patch (see tools/tansu/README.md):
# a group whose leader left while it was forming never formed again, a member
# busy re-joining was expired as dead, and a fetch from inside a producer batch
# skipped the rest of that batch. The stamp names the version and the patches,
# so a changed patch rebuilds once and an unchanged one never does.
stamp() { cat "$here"/tools/tansu/*.patch | sha256sum | cut -c1-16 | sed "s/^/$TANSU_VERSION-/"; }

install() {
  if [ -x "$TANSU" ] && [ "$(cat "$TANSU.stamp" 2>/dev/null)" = "$(stamp)" ]; then
    return 0
  fi
  echo "building patched tansu $TANSU_VERSION into $TOOLS_DIR (first time only, ~10 minutes)" >&2
  local build=$TOOLS_DIR/tansu-build
  local cargo_home=${CARGO_HOME:-$HOME/.cargo}
  rm -rf "$build/src" && mkdir -p "$build/src/fetch/src"
  # Let cargo download the published crates (through whatever registry
  # mirror it is configured for), then unpack and patch them.
  cat >"$build/src/fetch/Cargo.toml" <<TOML
[package]
name = "tansu-source-fetch"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
tansu = { version = "=$TANSU_VERSION", default-features = false }
tansu-broker = { version = "=$TANSU_VERSION", default-features = false }
tansu-storage = { version = "=$TANSU_VERSION", default-features = false }
TOML
  echo 'fn main() {}' >"$build/src/fetch/src/main.rs"
  (cd "$build/src/fetch" && cargo fetch --quiet)
  for crate in tansu tansu-broker tansu-storage; do
    local file
    file=$(ls "$cargo_home"/registry/cache/*/"$crate-$TANSU_VERSION.crate" | head -1)
    tar xzf "$file" -C "$build/src"
  done
  for crate in tansu-broker tansu-storage; do
    (cd "$build/src/$crate-$TANSU_VERSION" && git apply -p1 "$here/tools/tansu/$crate.patch")
  done
  cat >>"$build/src/tansu-$TANSU_VERSION/Cargo.toml" <<TOML

[patch.crates-io]
tansu-broker = { path = "../tansu-broker-$TANSU_VERSION" }
tansu-storage = { path = "../tansu-storage-$TANSU_VERSION" }
TOML
  # Default features build a broker that cannot start: it needs the storage
  # engines. The shipped Cargo.lock keeps every other dependency as released.
  (cd "$build/src/tansu-$TANSU_VERSION" &&
    CARGO_TARGET_DIR="$build/target" cargo build --release --bin tansu --features dynostore,libsql)
  mkdir -p "$(dirname "$TANSU")"
  cp "$build/target/release/tansu" "$TANSU.new" && mv "$TANSU.new" "$TANSU"
  stamp >"$TANSU.stamp"
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

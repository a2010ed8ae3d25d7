# contact-kpi — the two commands are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
export TOOLS_DIR ?= $(HOME)/.cache/contact-kpi/tools
export TANSU_BIN ?= $(TOOLS_DIR)/bin/tansu
export PROMTOOL_BIN ?= /usr/bin/promtool

.PHONY: run test setup debs tansu promtool build lint unit integration eval-empathy bench measure broker-up broker-down clean

## run: local broker + demo traffic + service, metrics on http://127.0.0.1:9464/metrics
run: debs tansu build
	BIN=target/debug/contact-kpi scripts/run.sh

## test: the full suite (formatting, lints, unit, property and integration tests)
test: setup lint
	scripts/check-prometheus.sh
	scripts/check-deploy.sh
	@mkdir -p target
	$(CARGO) test --all-targets 2>&1 | tee target/test.log; test $${PIPESTATUS[0]} -eq 0
	@grep -E "^test result:" target/test.log | awk '{p+=$$4; f+=$$6} END {print "tests: " p " passed, " f " failed"}'

setup: debs tansu promtool

# Debian packages the build and the tests need: OpenSSL's headers for
# rdkafka's TLS and SASL/SCRAM (Debian's OpenSSL, so security updates come
# with the distribution), pkg-config to find them, the openssl command and
# stunnel4 for the TLS broker tests.
DEBS := libssl-dev pkg-config openssl stunnel4
debs:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

tansu:
	@scripts/broker.sh install

# Prometheus and promtool from Debian's package, for the rule tests and the
# end-to-end dashboard test.
promtool:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { \
	  echo "installing Debian package prometheus"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

build:
	$(CARGO) build

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

eval-empathy:
	$(CARGO) test --test empathy_eval -- --nocapture

bench:
	$(CARGO) bench

## measure: end-to-end throughput, memory, restore time and latency on a local broker (release build)
measure: tansu
	scripts/measure-pipeline.sh

broker-up:
	scripts/broker.sh up

broker-down:
	scripts/broker.sh down

clean:
	$(CARGO) clean
	rm -rf data

# tend: the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What the demo needs, and what the whole test suite needs besides (dpkg/apt tooling, strace for the leak
# test, Debian's own python3 libraries for the .deb, chromium for the audit page, Prometheus and node_exporter
# for the fleet evidence test), and what `make deb` and its test need (dpkg-buildpackage with debhelper,
# dh-python and bash-completion's dh addon; lintian).
DEMO_PACKAGES := gnupg git
DEBIAN_PACKAGES := $(DEMO_PACKAGES) dpkg-dev strace python3-yaml python3-jinja2 python3-psutil python3-gnupg python3-schedule apt-utils passwd chromium \
	prometheus prometheus-node-exporter
DEB_BUILD_PACKAGES := build-essential debhelper dh-python bash-completion lintian
DEBIAN_PACKAGES += $(DEB_BUILD_PACKAGES)

.PHONY: test demo bench deb deps venv lint clean bench-peers faults

deps:
	@scripts/ensure-packages $(DEBIAN_PACKAGES)

$(BIN)/tend: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

venv: $(BIN)/tend

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Each layer's time is printed: installs, lint, then (pytest's own summary) each test layer.
test:
	@scripts/timed "Debian packages" $(MAKE) -s deps
	@scripts/timed "venv" $(MAKE) -s venv
	@scripts/timed "lint (ruff, mypy)" $(MAKE) -s lint
	@scripts/timed "tests" $(BIN)/pytest -q -n 2

demo: venv
	@scripts/ensure-packages $(DEMO_PACKAGES)
	@scripts/demo

bench: venv
	@mkdir -p bench/out
	$(BIN)/python -m bench --json bench/out/bench.json --markdown BENCHMARKS.md --peers bench/out/peers.json

clean:
	rm -rf $(VENV) build dist demo bench/out .pytest_cache .ruff_cache .mypy_cache

# dist/tend_<version>_all.deb, built with debhelper (TEND_DEB_VERSION=V builds version V, for tests and snapshots).
deb:
	@scripts/ensure-packages $(DEB_BUILD_PACKAGES) dpkg-dev
	@packaging/build-deb dist

# tend against cf-agent and puppet (Debian's cfengine3 and puppet, installed with apt-get when root), after the
# whole suite; writes bench/out/{bench,peers}.json and BENCHMARKS.md. About 45 minutes on 2 cores (with the
# 10,000-file rows and W9-W12).
bench-peers: venv
	@mkdir -p bench/out
	$(BIN)/python -m bench --json bench/out/bench.json
	$(BIN)/python -m bench.peers --install --json bench/out/peers.json --suite bench/out/bench.json --markdown BENCHMARKS.md

# Fault injection at full length (kill -9 loops, pulls killed, property tests): prints its figures and seed.
# The quick mode of the same tests runs with `make test`; TEND_FAULTS_SEED=N replays a failure.
faults: deps venv
	TEND_FAULTS=full $(BIN)/pytest -q tests/faults

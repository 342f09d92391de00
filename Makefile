# Everything sets itself up: `make demo` and `make test` work on a fresh machine
# with Python 3.11+ and make. The demo installs iamgen and what it needs to run
# (.venv/.installed); `make test` adds the test tools (.venv/.installed-test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# Quiet: no progress, no "new pip available" notice; build-backend warnings are
# kept in $(VENV)/pip.log and shown only when the install fails.
PIP := PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/python -m pip install -q
PIP_LOG := $(VENV)/pip.log
EXAMPLE := examples/ml-account
IQ := $(BIN)/iamgen

.PHONY: setup setup-test demo test eval bench bench-sql bench-store backtest clean
TRAINING_ROLE := AmazonSageMaker-ExecutionRole-20261014T093512

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "iamgen needs Python 3.11 or newer")'
	@$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "setting up $(VENV): iamgen and its runtime dependencies (once)"
	@$(PIP) --upgrade pip > $(PIP_LOG) 2>&1 || { cat $(PIP_LOG); exit 1; }
	@$(PIP) -e . >> $(PIP_LOG) 2>&1 || { cat $(PIP_LOG); exit 1; }
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP) pyproject.toml
	@echo "adding the test tools to $(VENV) (once)"
	@$(PIP) -e '.[test]' >> $(PIP_LOG) 2>&1 || { cat $(PIP_LOG); exit 1; }
	@touch $(TEST_STAMP)

setup: $(STAMP)
setup-test: $(TEST_STAMP)

# The main job on the bundled example account: a least-privilege policy for the
# SageMaker training role, one policy per principal under out/policies/, the
# right-sizing diff against the account's current grants (markdown in out/diff.md),
# the fleet review of every principal (out/review/) and the access graph (out/graph.dot).
demo: $(STAMP)
	@mkdir -p out
	@echo "iamgen demo on examples/ml-account: a week of CloudTrail from an ML team's account."
	@echo "One of its log files is cut short on purpose, to show how iamgen treats a damaged"
	@echo "file: the first command warns about it and goes on; the rest run with --quiet."
	@echo "Your checkout is fine (examples/README.md, \"A damaged file\")."
	@echo
	@echo "== iamgen suggest $(TRAINING_ROLE) =="
	@$(IQ) suggest $(TRAINING_ROLE) --trail $(EXAMPLE)/trail
	@echo
	@echo "== iamgen suggest priya.raman --harden auto: conditions every observed call satisfied (MFA, guardrail, region) =="
	@$(IQ) suggest priya.raman --trail $(EXAMPLE)/trail --harden auto --quiet
	@echo
	@echo "== iamgen suggest --all (one policy per principal) =="
	@$(IQ) suggest --all --trail $(EXAMPLE)/trail --output-dir out/policies --quiet
	@ls out/policies
	@echo
	@echo "== iamgen diff $(TRAINING_ROLE): current grants against observed use =="
	@$(IQ) diff $(TRAINING_ROLE) --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --quiet
	@$(IQ) diff --all --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --format markdown --quiet > out/diff.md
	@echo "(the pull-request report for every principal is in out/diff.md)"
	@echo
	@echo "== iamgen review: every principal ranked by excess, risky grants first, unused flagged =="
	@$(IQ) review --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --output-dir out/review --quiet
	@$(IQ) review --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --quiet > out/review.txt
	@awk 'NF == 0 { blank++ } blank < 2' out/review.txt
	@echo
	@sed -n '/^AI security lens/,/^$$/p' out/review.txt
	@echo "(the full review with its chart is in out/review/review.md and review-excess.svg; as data in out/review/review.json)"
	@echo
	@echo "== iamgen backtest: would a policy learned from the first five days have denied the last two? =="
	@$(IQ) backtest --all --trail $(EXAMPLE)/trail --holdout 2d --quiet | tail -n 1
	@echo
	@echo "== iamgen graph: who touched what, and the AssumeRole chains =="
	@$(IQ) graph --trail $(EXAMPLE)/trail --format dot --output out/graph.dot --quiet
	@echo "(Graphviz: dot -Tsvg out/graph.dot > out/graph.svg; --format json or graphml for other tools)"

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) build dist *.egg-info out .bench

# Resolution accuracy on ../shared/data/cloudtrail-real.jsonl (skips when absent).
eval: $(STAMP)
	$(BIN)/python benchmarks/eval_resolution.py

# Throughput and memory on a synthetic trail (N events, default 1,000,000).
BENCH_EVENTS ?= 1000000
bench: $(TEST_STAMP)  # the bare loop it compares against parses with orjson
	$(BIN)/python benchmarks/bench_throughput.py --events $(BENCH_EVENTS)

# The SQL path (--source duckdb, over the JSON files and a Parquet copy) against the
# file path on the same trail: rows the aggregation returns per event, time, peak RSS.
bench-sql: $(TEST_STAMP)  # duckdb is a test dependency (for users: the iamgen[sql] extra)
	$(BIN)/python benchmarks/bench_sql.py --events $(BENCH_EVENTS)

# The usage store (--store): a first run with it against one without, a second run
# after 10% more files, a rerun with nothing new, the store's size per million events.
bench-store: $(STAMP)
	$(BIN)/python benchmarks/bench_store.py --events $(BENCH_EVENTS)

# Durability: learn from days 1-7 of a ten-day AI workload, replay days 8-10.
# Fails (exit 11) below 99% of held-out distinct calls allowed, or when any
# out-of-pattern probe is allowed. The second run shows exact names for contrast.
WORKLOAD := out/workload
backtest: $(STAMP)
	@rm -rf $(WORKLOAD)
	$(BIN)/python benchmarks/generate_workload.py --output-dir $(WORKLOAD)
	$(BIN)/iamgen backtest --all --trail $(WORKLOAD)/trail --until 2026-11-11 --holdout 3d --expect-denied $(WORKLOAD)/probes.jsonl --fail-under 99 --quiet
	@echo
	@echo "== the same with exact names (--generalize none), for contrast =="
	@$(BIN)/iamgen backtest --all --trail $(WORKLOAD)/trail --until 2026-11-11 --holdout 3d --expect-denied $(WORKLOAD)/probes.jsonl --generalize none --quiet | tail -n 2

# Everything sets itself up: `make demo` and `make test` work on a fresh machine
# with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/ml-account

.PHONY: setup demo test eval bench backtest clean
TRAINING_ROLE := AmazonSageMaker-ExecutionRole-20261014T093512

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "iamgen needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,fast]'
	@touch $(STAMP)

setup: $(STAMP)

# The main job on the bundled example account: a least-privilege policy for the
# SageMaker training role, one policy per principal under out/policies/, the
# right-sizing diff against the account's current grants (markdown in out/diff.md),
# the fleet review of every principal (out/review/) and the access graph (out/graph.dot).
demo: $(STAMP)
	@echo "== iamgen suggest $(TRAINING_ROLE) =="
	$(BIN)/iamgen suggest $(TRAINING_ROLE) --trail $(EXAMPLE)/trail
	@echo
	@echo "== iamgen suggest --all (one policy per principal) =="
	$(BIN)/iamgen suggest --all --trail $(EXAMPLE)/trail --output-dir out/policies --quiet
	@ls out/policies
	@echo
	@echo "== iamgen diff $(TRAINING_ROLE): current grants against observed use =="
	$(BIN)/iamgen diff $(TRAINING_ROLE) --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --quiet
	$(BIN)/iamgen diff --all --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --format markdown --quiet > out/diff.md
	@echo "(the pull-request report for every principal is in out/diff.md)"
	@echo
	@echo "== iamgen review: every principal ranked by excess, risky grants first, unused flagged =="
	$(BIN)/iamgen review --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --output-dir out/review --quiet
	@$(BIN)/iamgen review --trail $(EXAMPLE)/trail --grants $(EXAMPLE)/grants/account-authorization-details.json --quiet | awk 'NF == 0 { blank++ } blank < 2'
	@echo "(the full review with its chart is in out/review/review.md and review-excess.svg; as data in out/review/review.json)"
	@echo
	@echo "== iamgen backtest: would a policy learned from the first five days have denied the last two? =="
	$(BIN)/iamgen backtest --all --trail $(EXAMPLE)/trail --holdout 2d --quiet | tail -n 1
	@echo
	@echo "== iamgen graph: who touched what, and the AssumeRole chains =="
	$(BIN)/iamgen graph --trail $(EXAMPLE)/trail --format dot --output out/graph.dot --quiet
	@echo "(Graphviz: dot -Tsvg out/graph.dot > out/graph.svg; --format json or graphml for other tools)"

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) build dist *.egg-info out .bench

# Resolution accuracy on ../shared/data/cloudtrail-real.jsonl (skips when absent).
eval: $(STAMP)
	$(BIN)/python benchmarks/eval_resolution.py

# Throughput and memory on a synthetic trail (N events, default 1,000,000).
BENCH_EVENTS ?= 1000000
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_throughput.py --events $(BENCH_EVENTS)

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

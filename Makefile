# Everything sets itself up: `make demo` and `make test` work on a fresh machine
# with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/ml-account

.PHONY: setup demo test eval bench clean
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

# lanectx developer commands. `make demo` and `make test` install what they need first.
.PHONY: setup demo test lint bench reliability

setup:
	@scripts/bootstrap.sh

demo: setup
	.venv/bin/python examples/bookinfo/run.py demo

lint: setup
	.venv/bin/ruff check src tests examples benchmarks
	.venv/bin/ruff format --check src tests examples benchmarks
	.venv/bin/mypy --strict src

test: lint
	.venv/bin/pytest
	.venv/bin/python benchmarks/run.py --quick

bench: setup
	.venv/bin/python benchmarks/run.py

# The full hardening run: 10,000 requests at 200 in flight, 5x the fuzz cases; figures
# are printed and written to $TMPDIR/lanectx-reliability.json (see docs/reliability.md).
reliability: setup
	LANECTX_RELIABILITY_REQUESTS=10000 LANECTX_RELIABILITY_IN_FLIGHT=200 \
	LANECTX_FUZZ_EXAMPLES=2000 LANECTX_FUZZ_SERVER_EXAMPLES=500 \
	LANECTX_RELIABILITY_REPORT=$${TMPDIR:-/tmp}/lanectx-reliability.json \
	.venv/bin/pytest tests/reliability -p no:logging --timeout 1800

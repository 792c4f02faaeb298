# lanectx developer commands. `make demo` and `make test` install what they need first.
.PHONY: setup demo test lint bench

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

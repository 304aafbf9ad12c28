# make demo  - set everything up and see it work
# make test  - set everything up and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps test demo bench bench-queue soak clean

setup: system-deps $(VENV)/.installed

system-deps:
	@bash scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: setup
	$(BIN)/python examples/make_media.py
	bash scripts/demo.sh

bench: setup
	$(BIN)/python benchmarks/bench_render.py

bench-queue: setup
	$(BIN)/python benchmarks/bench_queue.py

soak: setup
	$(BIN)/python -m pytest -q -m slow -p no:cacheprovider

clean:
	rm -rf $(VENV) demo benchmarks/out

# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test bench clean fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	rm -rf build/demo
	@echo "== Kestra YAML (0.x spellings) -> current Kestra YAML"
	$(BIN)/flowbridge convert examples/kestra --to kestra -o build/demo/kestra
	@echo "== a Prefect repo -> Kestra YAML (report in build/demo/report.md)"
	$(BIN)/flowbridge convert examples/prefect --to kestra -o build/demo/from-prefect --report build/demo/report.md
	@echo "--- build/demo/from-prefect/sales/daily-sales.yaml"
	@cat build/demo/from-prefect/sales/daily-sales.yaml
	@echo "== Kestra YAML -> Prefect 3 Python (with prefect.yaml and requirements.txt)"
	$(BIN)/flowbridge convert examples/kestra --to prefect -o build/demo/to-prefect
	@echo "--- build/demo/to-prefect/etl/daily_sales.py"
	@cat build/demo/to-prefect/etl/daily_sales.py
	@echo "== lint: what would not survive the move (counts by code; see docs/rules)"
	$(BIN)/flowbridge lint examples --statistics --exit-zero --no-cache
	@echo "== check: are the generated files up to date with their sources?"
	$(BIN)/flowbridge check build/demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/black --check -q .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/kestra_roundtrip.py
	$(BIN)/python bench/prefect_convert.py
	$(BIN)/python bench/kestra_to_prefect.py
	$(BIN)/python bench/lint.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis

# Fuzzing for FUZZ_SECONDS (10 minutes by default): hypothesis over both readers and both
# writers, then atheris (the `fuzz` extra) when it installs on this Python.
FUZZ_SECONDS ?= 600

fuzz: $(STAMP)
	$(BIN)/python -c "import atheris" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[fuzz]' \
		|| echo "atheris does not install here: hypothesis targets only"
	$(BIN)/python -m tests.hostile.fuzz --seconds $(FUZZ_SECONDS)

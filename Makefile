# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test bench clean

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

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/black --check -q .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/kestra_roundtrip.py
	$(BIN)/python bench/prefect_convert.py
	$(BIN)/python bench/kestra_to_prefect.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis

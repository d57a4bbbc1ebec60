# Every target creates .venv and installs into it when it is absent, so on a fresh
# machine `make demo` and `make test` are the only two commands a user types.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint fmt typecheck check clean mutants

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e '.[test,plot,cloud,dask]'
	@# bytecode on every core, without the libraries' own test folders and the packages
	@# that moto[server] and the cloud extra pull in but no test imports (a module left out
	@# is compiled when first imported): pip compiles one module at a time (a fresh install
	@# took 144 s with it, 78 s this way)
	$(BIN)/python -m compileall -q -j 0 \
	    -x '/tests?/|/(sympy|cfnlint|networkx|graphql|aws_xray_sdk|pip|setuptools|pyasn1_modules|google|azure|huggingface_hub)/' \
	    "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null
	touch $(STAMP)

# ruff and mypy only for the targets that use them (make test need not install them)
DEV := $(VENV)/.dev-installed
$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV)

# The main job on the shipped sample data: one comparison table per task.
DEMO := $(BIN)/losscli eval
demo: $(STAMP)
	@echo '$$ losscli eval sample_data/regression.csv --pred-col y_pred --label-col y_true'
	@$(DEMO) sample_data/regression.csv --pred-col y_pred --label-col y_true
	@echo '$$ losscli eval sample_data/binary_preds.csv sample_data/binary_labels.csv --id-col id'
	@$(DEMO) sample_data/binary_preds.csv sample_data/binary_labels.csv --id-col id
	@echo '$$ losscli eval sample_data/binary.parquet --pred-col logit --label-col label --from-logits'
	@$(DEMO) sample_data/binary.parquet --pred-col logit --label-col label --from-logits
	@echo "$$ losscli eval sample_data/multiclass.csv --pred-col 'p_*' --label-col species"
	@$(DEMO) sample_data/multiclass.csv --pred-col 'p_*' --label-col species
	@echo '$$ losscli eval sample_data/multiclass_preds.npy sample_data/multiclass_labels.npy --format json'
	@$(DEMO) sample_data/multiclass_preds.npy sample_data/multiclass_labels.npy --format json
	@echo '$$ losscli eval sample_data/binary_slices.csv --pred-col prob --label-col label --loss bce --by radius --bins radius=12,15,18 --worst 3'
	@$(DEMO) sample_data/binary_slices.csv --pred-col prob --label-col label --loss bce --by radius --bins radius=12,15,18 --worst 3
	@echo '$$ losscli plot sample_data/binary_preds.csv sample_data/binary_labels.csv --id-col id --kind calibration -o docs/calibration.png'
	@mkdir -p docs
	@$(BIN)/losscli plot sample_data/binary_preds.csv sample_data/binary_labels.csv --id-col id --kind calibration -o docs/calibration.png
	@echo 'wrote docs/calibration.png (the README shows it)'

# The suite runs on every core (pytest-xdist): CI has 2 and a 5-minute limit.
test: $(STAMP)
	@# losscli's own bytecode, for the hundreds of CLI processes the tests start (where
	@# PYTHONDONTWRITEBYTECODE is set, each would compile it again)
	@$(BIN)/python -m compileall -q losscli >/dev/null
	$(BIN)/python -m pytest -n auto --dist loadgroup

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(DEV)
	$(BIN)/ruff check losscli tests bench sample_data tools
	$(BIN)/ruff format --check losscli tests bench sample_data tools

fmt: $(DEV)
	$(BIN)/ruff format losscli tests bench sample_data tools
	$(BIN)/ruff check --fix losscli tests bench sample_data tools

typecheck: $(DEV)
	$(BIN)/mypy losscli

check: lint typecheck test

# Mutation testing (mutmut 3, configured in pyproject.toml [tool.mutmut]): plants small bugs
# in losscli/engine/ and losscli/readers/csv.py, one at a time, and runs the tests of
# tests/engine and tests/readers that reach each one. Not part of `make test` or CI: the
# whole run takes hours on 2 cores, so MUTATE narrows it to some modules (mutant-name
# globs), e.g. make mutants MUTATE='losscli.engine.accumulate* losscli.readers.csv*'.
# Each run starts afresh (a cached verdict may predate a changed test); the results stay in
# mutants/ for `.venv/bin/mutmut results`, `show <mutant>` and `browse`.
MUTMUT := $(VENV)/.mutmut-installed
MUTATE ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
$(MUTMUT): $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut>=3.8,<4'
	touch $(MUTMUT)

mutants: $(MUTMUT)
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(JOBS) $(MUTATE)
	$(BIN)/python tools/mutation_score.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache .mypy_cache mutants

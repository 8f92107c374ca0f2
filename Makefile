# The two commands a newcomer needs: `make run` (the whole suite locally) and `make test` (all tests).
# Both create the virtualenv and install what they need first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := libs/grassroots services/intake services/review services/experts services/funding services/notify services/gateway
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))

.PHONY: venv run test test-unit test-integration test-e2e bench infra clean

$(STAMP): constraints.txt $(PYPROJECTS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r constraints.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps $(addprefix -e ,$(PACKAGES))
	touch $(STAMP)

venv: $(STAMP)

infra:
	NEED_POSTGRES=$(NEED_POSTGRES) bash scripts/ensure_infra.sh

run: venv
	@bash scripts/ensure_infra.sh
	$(BIN)/python scripts/run_local.py

test: venv
	@NEED_POSTGRES=1 bash scripts/ensure_infra.sh
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

test-unit: venv
	$(BIN)/python -m pytest tests/unit -q -p no:cacheprovider

# every benchmark runs even when one before it missed a target (or failed); the status says if any did
bench: venv
	@NEED_POSTGRES=1 bash scripts/ensure_infra.sh
	@rc=0; \
	$(BIN)/python bench/run_all.py || rc=1; \
	$(BIN)/python bench/bench_funding.py || rc=1; \
	$(BIN)/python bench/bench_matching.py || rc=1; \
	exit $$rc

clean:
	rm -rf var/local var/test

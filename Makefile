# Set-up and the two everyday commands. `make compare` and `make test` create the
# virtual environment on first use (Python 3.12, selected by .python-version) with the
# `test` extra, which includes the `geo` extra (geopandas, pyogrio, shapely, pyproj) for
# `quartiersim import` and `--geo`.
# `make test` also installs what the app's browser tests need, offline
# (scripts/install-browser-deps.sh: Debian chromium, solara's assets, vega bundles).
PYTHON ?= python3.12
VENV   := .venv
HASH   := $(shell cat pyproject.toml scripts/install-browser-deps.sh | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(HASH)
TESTSTAMP := $(VENV)/.test-deps-$(HASH)

.PHONY: compare test setup clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v -e "is ignored: it is neither" || true
	@$(VENV)/bin/python -c "import quartiersim" && rm -f $(VENV)/.installed-* && touch $@

$(TESTSTAMP): $(STAMP) scripts/install-browser-deps.sh
	@PYTHON=$(PYTHON) bash scripts/install-browser-deps.sh $(VENV)
	@rm -f $(VENV)/.test-deps-* && touch $@

setup: $(STAMP)

compare: $(STAMP)
	$(VENV)/bin/quartiersim compare scenarios/herten-innenstadt.toml

test: $(TESTSTAMP)
	$(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV)

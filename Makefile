# Set-up and the two everyday commands. `make compare` and `make test` create the
# virtual environment on first use (Python 3.12, selected by .python-version).
PYTHON ?= python3.12
VENV   := .venv
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: compare test setup clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v -e "is ignored: it is neither" || true
	@$(VENV)/bin/python -c "import quartiersim" && rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

compare: $(STAMP)
	$(VENV)/bin/quartiersim compare scenarios/herten-innenstadt.toml

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV)

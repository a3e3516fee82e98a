# nianbao: two commands set up a fresh machine.
#   make demo   create .venv if missing, install, run the main job on a sample county
#   make test   create .venv if missing, install (and LibreOffice for the re-save test), run the tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install system-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

# LibreOffice re-saves a filled template in one test (as an agency's office software would).
system-deps:
	@command -v soffice >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing LibreOffice Calc (Debian package libreoffice-calc) ..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc >/dev/null) \
	      || echo "LibreOffice could not be installed: its test will be skipped"; \
	  else echo "soffice not found and not root: the LibreOffice test will be skipped"; fi; }

demo: $(STAMP)
	$(BIN)/nianbao demo

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

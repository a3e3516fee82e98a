# nianbao: two commands set up a fresh machine.
#   make demo   create .venv if missing, install, run the main job on a sample county
#   make test   create .venv if missing, install (and LibreOffice, Chromium when missing), build the docs, run the tests
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install system-deps clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test,docs]'
	@touch $@

# Real parts the tests use, from Debian when missing: LibreOffice (Calc and Writer) re-saves and
# converts files as agencies' software does; Chromium with Noto CJK renders the pages.
SYSTEM_PACKAGES := libreoffice-calc libreoffice-writer chromium fonts-noto-cjk poppler-utils
system-deps:
	@missing=""; \
	command -v soffice >/dev/null 2>&1 && test -e /usr/lib/libreoffice/program/swriter || missing="$$missing libreoffice-calc libreoffice-writer"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing from Debian:$$missing ..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	      || { echo "could not install:$$missing"; exit 1; }; \
	  else echo "missing:$$missing (install them as root; under CI=true their tests fail)"; fi; \
	fi

demo: $(STAMP)
	$(BIN)/nianbao demo

test: $(STAMP) system-deps
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site  # the docs site: no broken link, nothing online
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# Web widget and browser-test prerequisites (issue #4). Included by the main Makefile.
#
#   make widget     npm ci + esbuild bundle -> bot/web/static/widget.js (only when sources or the lockfile changed)
#   make chromium   Debian's chromium for the browser tests (only when /usr/bin/chromium is missing)

WIDGET_DIR      := widget
WIDGET_OUT      := bot/web/static/widget.js
WIDGET_SOURCES  := $(wildcard $(WIDGET_DIR)/src/*.js) $(WIDGET_DIR)/build.mjs
WIDGET_MODULES  := $(WIDGET_DIR)/node_modules/.package-lock.json
CHROMIUM        := /usr/bin/chromium
NPM             ?= npm

# npm ci only when package.json or the lockfile changed (npm writes node_modules/.package-lock.json).
$(WIDGET_MODULES): $(WIDGET_DIR)/package.json $(WIDGET_DIR)/package-lock.json
	cd $(WIDGET_DIR) && $(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET_OUT): $(WIDGET_MODULES) $(WIDGET_SOURCES)
	cd $(WIDGET_DIR) && node build.mjs

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends chromium

.PHONY: widget chromium test-web
widget: $(WIDGET_OUT)
chromium: $(CHROMIUM)

# Browser tests only (the full suite runs them too, via `make test`).
test-web: widget chromium setup
	$(PY) -m pytest tests/web

RUN_DEPS  += widget
TEST_DEPS += widget chromium

# Dependency vulnerability audit. Included by the main Makefile.
#
#   make audit       pip-audit on the installed .venv + npm audit on widget/; prints a summary and
#                    fails on any finding not in audit/*-ignore.txt (each ignore has a written reason)
#   make audit-pip   the Python half only (AUDIT_SERVICE=pypi|osv, AUDIT_OSV_URL=... for a mirror)
#   make audit-npm   the widget half only: high and critical advisories fail, others are counted
#
# BLOCKED on this workplace, so not in TEST_DEPS: only the package indexes are reachable.
#   pypi: pip-audit reads PyPI's per-release JSON (/pypi/NAME/VERSION/json), which answers 404
#         here (the per-project /pypi/NAME/json answers, but its `vulnerabilities` cover only the
#         latest release, not our pins); left alone, pip-audit then skips all ~200 packages as
#         "not found" and still prints "No known vulnerabilities found" with exit 0.
#   osv:  the OSV API's host does not resolve. Offline data: safety-db on PyPI stops at 2021-07;
#         the npm OSV packages (@renovatebot/osv-offline) download their data from GitHub at run time.
#   npm:  the npm registry refuses the audit POST (405 Method Not Allowed on
#         /-/npm/v1/security/advisories/bulk), so `npm audit` exits 1 with no report.
# `make audit` therefore says BLOCKED and fails; it never passes on data it did not get.
# Where a service answers, run `make audit`, fix or ignore (with a reason) what it reports, then
# put it into CI with AUDIT_IN_TEST=1 (or make the line below unconditional).
#
# pip-audit lives in its own venv (var/audit-venv, pins in audit/requirements.txt): every release
# needs packaging>=21 and CacheControl>=0.13, and rasa 3.6.21 requires packaging<21, CacheControl<0.13.

AUDIT_SERVICE   ?= pypi
AUDIT_OSV_URL   ?=
AUDIT_VENV      := var/audit-venv
AUDIT_STAMP     := $(AUDIT_VENV)/.installed
AUDIT_OUT       := results/audit
AUDIT_CHECK     := audit/check.py
AUDIT_NPM_DIR   := widget
# Dev dependencies too (esbuild and axe-core run in the build and in CI); an advisory that only
# concerns a dev tool gets its reason in audit/npm-audit-ignore.txt. NPM_AUDIT_FLAGS=--omit=dev to narrow.
NPM_AUDIT_FLAGS ?=
NPM             ?= npm

$(AUDIT_STAMP): audit/requirements.txt | $(VENV)/.installed
	rm -rf $(AUDIT_VENV)
	$(PY) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -qq --disable-pip-version-check -r audit/requirements.txt
	touch $@

.PHONY: audit audit-pip audit-npm audit-probe

# Both halves always run, so one summary shows everything; the exit status is the worst of the two.
audit:
	@rc=0; \
	$(MAKE) --no-print-directory audit-pip || rc=$$?; \
	$(MAKE) --no-print-directory audit-npm || rc=$$?; \
	[ $$rc = 0 ] && echo "audit: OK" || echo "audit: FAILED (see above)" >&2; \
	exit $$rc

# Fails fast, before anything is installed, when the advisory service cannot be reached.
audit-probe: $(VENV)/.installed
	@$(PY) $(AUDIT_CHECK) probe $(AUDIT_SERVICE) $(AUDIT_OSV_URL)

# The installed environment (pip, setuptools and wheel included), not only constraints.txt.
audit-pip: $(VENV)/.installed audit-probe $(AUDIT_STAMP)
	@mkdir -p $(AUDIT_OUT) && rm -f $(AUDIT_OUT)/pip-audit.json
	@paths=$$($(PY) -c 'import sysconfig as s; print(*{s.get_path("purelib"), s.get_path("platlib")})'); \
	$(AUDIT_VENV)/bin/pip-audit $$(printf -- '--path %s ' $$paths) --skip-editable \
		--vulnerability-service $(AUDIT_SERVICE) $(if $(AUDIT_OSV_URL),--osv-url $(AUDIT_OSV_URL)) \
		--aliases on --desc on --progress-spinner off --format json --output $(AUDIT_OUT)/pip-audit.json \
		2> $(AUDIT_OUT)/pip-audit.log || true
	@[ -s $(AUDIT_OUT)/pip-audit.json ] || { cat $(AUDIT_OUT)/pip-audit.log >&2; echo "audit: pip-audit wrote no report" >&2; exit 2; }
	@$(PY) $(AUDIT_CHECK) pip $(AUDIT_OUT)/pip-audit.json audit/pip-audit-ignore.txt

audit-npm: $(VENV)/.installed
	@if [ ! -f $(AUDIT_NPM_DIR)/package.json ]; then echo "npm audit: no $(AUDIT_NPM_DIR)/package.json, skipped"; exit 0; fi; \
	mkdir -p $(AUDIT_OUT); \
	(cd $(AUDIT_NPM_DIR) && $(NPM) audit --json $(NPM_AUDIT_FLAGS) 2>/dev/null) > $(AUDIT_OUT)/npm-audit.json; \
	$(PY) $(AUDIT_CHECK) npm $(AUDIT_OUT)/npm-audit.json audit/npm-audit-ignore.txt

ifeq ($(AUDIT_IN_TEST),1)
TEST_DEPS += audit
endif

# The production profile (issue 7): `make run PROFILE=prod`. Included by the main Makefile.
#
#   make run PROFILE=prod   PostgreSQL tracker store (127.0.0.1:5432 unless DB_URL says otherwise),
#                           Redis lock store (REDIS_HOST, 127.0.0.1), 2 Rasa replicas (RASA_REPLICAS),
#                           2 action servers (ACTION_REPLICAS), the web app, nginx in front
#   make nginx              Debian's nginx (only when it is missing)
#
# Settings come from the environment (bot/settings.py); nothing secret is written in a file
# that is committed: tokens are generated under var/ when not given.

PROFILE ?= embedded
NGINX   := /usr/sbin/nginx

$(NGINX):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends nginx

.PHONY: nginx
nginx: $(NGINX)

# The tests start the production profile too (tests/production), so `make test` needs nginx.
TEST_DEPS += nginx

ifeq ($(PROFILE),prod)
export PROFILE
export DB_URL ?= postgresql://postgres@127.0.0.1:5432/ketamine_faq
export REDIS_HOST ?= 127.0.0.1
RUN_DEPS += nginx
endif

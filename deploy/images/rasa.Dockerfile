# syntax=docker/dockerfile:1
# The Rasa server: Rasa's official image (3.6.21, Ubuntu 22.04, Python 3.10 in /opt/venv, user
# 1001) plus the project's pinned dependencies and its `bot/` package, which config.yml's custom
# NLU components (bot.nlu.*), credentials' channels (bot.channels.*), the tracker store and
# bot.rasa_server's fixes live in. Without bot/, Rasa would fall back to an in-memory tracker store.
# No model inside: every replica pulls the live model from the web app (deploy/helm/values.yaml).
#
# Build from the repository root (BuildKit then uses rasa.Dockerfile.dockerignore beside this):
#   docker build -f deploy/images/rasa.Dockerfile -t registry.example.org/ketamine-faq/rasa:TAG .
FROM rasa/rasa:3.6.21

USER root
# The versions the tests ran with: rasa==3.6.21 is already installed (pip keeps it), every other
# package is moved to its pin in constraints.txt.
COPY requirements.txt constraints.txt /tmp/pins/
RUN python -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' \
 && pip install --no-cache-dir -r /tmp/pins/requirements.txt -c /tmp/pins/constraints.txt \
 && rm -rf /tmp/pins

WORKDIR /app
COPY bot/ /app/bot/
# `rasa run` creates models/ under the working directory and Rasa keeps ~/.config (HOME=/app):
# writable by group 0, as in Rasa's own image (user 1001 is in group 0).
RUN mkdir -p /app/models && chgrp -R 0 /app && chmod -R g=u /app

ENV PYTHONPATH=/app RASA_TELEMETRY_ENABLED=false
USER 1001
EXPOSE 5005
# `docker run IMAGE run --enable-api ...` works like `rasa run ...`; the Helm values set both.
ENTRYPOINT ["python", "-m", "bot.rasa_server"]
CMD ["--help"]

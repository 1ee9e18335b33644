# syntax=docker/dockerfile:1
# The web app: the widget demo page and widget.js, the staff console (which also retrains with
# Rasa, hence the full requirements.txt) and the model server the Rasa replicas pull from.
#
# Build from the repository root (BuildKit then uses web.Dockerfile.dockerignore beside this):
#   docker build -f deploy/images/web.Dockerfile -t registry.example.org/ketamine-faq/web:TAG .

# widget.js, bundled as `make widget` does (widget/build.mjs), from the lockfile.
FROM node:20-bookworm-slim AS widget
WORKDIR /src/widget
COPY widget/package.json widget/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY widget/ ./
RUN WIDGET_OUT=/out/widget.js node build.mjs

FROM python:3.10-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 HOME=/app PYTHONPATH=/app
RUN groupadd --gid 1001 web && useradd --uid 1001 --gid 1001 --home-dir /app --no-create-home web

WORKDIR /app
# The versions the tests ran with.
COPY requirements.txt constraints.txt /tmp/pins/
RUN pip install -r /tmp/pins/requirements.txt -c /tmp/pins/constraints.txt && rm -rf /tmp/pins

# What the web process and the console's retrain gate read: the package, the training data
# (also data/contraindications.yml for `python -m bot.contraindications load`) and the gate's
# test files. The pod copies data/, tests/, domain.yml and config.yml to its volume once
# (TRAINING_ROOT, deploy/helm/web-app.yaml).
COPY --chown=1001:1001 bot/ bot/
COPY --chown=1001:1001 data/ data/
COPY --chown=1001:1001 tests/ tests/
COPY --chown=1001:1001 domain.yml config.yml ./
COPY --from=widget --chown=1001:1001 /out/widget.js bot/web/static/widget.js
# The working directory is written to: Rasa's training cache (.rasa/), var/.
RUN chown 1001:1001 /app

USER 1001
EXPOSE 8000
CMD ["uvicorn", "bot.web.app:app", "--host", "0.0.0.0", "--port", "8000"]

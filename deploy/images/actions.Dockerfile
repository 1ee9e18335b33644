# syntax=docker/dockerfile:1
# The action server: Rasa's official SDK image (rasa-sdk 3.6.2 in /opt/venv, user 1001) plus what
# the actions import besides rasa_sdk: SQLAlchemy and psycopg2 for the contraindication database,
# spaCy for its matcher (no spaCy model: spacy.blank("en")). Not Rasa, not TensorFlow.
#
# Build from the repository root (BuildKit then uses actions.Dockerfile.dockerignore beside this):
#   docker build -f deploy/images/actions.Dockerfile -t registry.example.org/ketamine-faq/actions:TAG .
FROM rasa/rasa-sdk:3.6.2

USER root
# The three pins are taken from requirements.txt (one place to change them), their dependencies'
# from constraints.txt. The build stops if the base image is not Python 3.10 (what the pins are
# for) or if a pin is missing.
COPY requirements.txt constraints.txt /tmp/pins/
RUN python -c 'import sys; assert sys.version_info[:2] == (3, 10), sys.version' \
 && grep -E '^(SQLAlchemy|psycopg2-binary|spacy)==' /tmp/pins/requirements.txt > /tmp/pins/actions.txt \
 && test "$(wc -l < /tmp/pins/actions.txt)" -eq 3 \
 && pip install --no-cache-dir -r /tmp/pins/actions.txt -c /tmp/pins/constraints.txt \
 && rm -rf /tmp/pins

WORKDIR /app
COPY actions/ /app/actions/
# The actions import the project's data layer and matcher (bot.contraindications, bot.db).
COPY bot/ /app/bot/
RUN chgrp -R 0 /app && chmod -R g=u /app

ENV PYTHONPATH=/app
USER 1001
EXPOSE 5055
# rasa_sdk's server without TensorFlow (bot/action_server.py); every argument is rasa_sdk's.
ENTRYPOINT ["python", "-m", "bot.action_server"]
CMD ["--actions", "actions", "--port", "5055"]

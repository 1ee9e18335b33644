"""The staff console at /console (issue #5): review conversations, teach the bot, retrain safely.

- `models`: the console's tables (conversations stay in Rasa's tracker store).
- `accounts`, `guard`, `audit`: staff accounts, login/CSRF for every /console route, audit trail.
- `logs`, `redact`, `charts`: the conversation index over the tracker store, PII redaction, charts.
- `training_data`, `gate`, `registry`: corrections into data/*.yml, the retrain gate, live models.
- `views/`: one module of routes per page group, assembled by `routes.console_routes()`.
"""

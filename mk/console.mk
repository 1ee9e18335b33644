# Staff console verbs (issue #5). Included by the main Makefile.
#
#   make admin                  create a console admin (prompts; or set CONSOLE_ADMIN_USER/PASSWORD)
#   make export-training-data   write the console's pending corrections into data/*.yml (prints the diff)
#   make retrain                train a candidate, evaluate it against the live model, promote or refuse
#   make retention              delete conversations older than RETENTION_DAYS (default 180)

.PHONY: admin export-training-data retrain retention

admin: db
	$(PY) -m bot.console admin

export-training-data: db
	$(PY) -m bot.console export-training-data

# Not `train`: an ungated `make train` would put a new model live before the gate sees it.
retrain: setup db
	$(PY) -m bot.console retrain

retention: db
	$(PY) -m bot.console retention

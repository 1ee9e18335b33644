# Benchmark verbs (issue: benchmark and speed). Included by the main Makefile.
#
#   make bench         our stack against Rasa's `rasa init` bot, side by side: load at 1-64 visitors,
#                      open loop, latency by turn, training and restart times, memory
#                      -> prints the table, writes results/bench.json and results/bench.png
#   make bench-quick   a few-minute smoke run of the same (visitors 1 and 4, no training timings)
#   make bench-replicas   the production profile through nginx: 1 Rasa replica against 2
#
# Extra options through BENCH_ARGS, e.g. `make bench BENCH_ARGS="--repetitions 5 --strict"`.

BENCH_ARGS ?=

.PHONY: bench bench-quick

bench: train db
	$(PY) -m bot.bench $(BENCH_ARGS)

bench-quick: train db
	$(PY) -m bot.bench --quick $(BENCH_ARGS)

# The production profile through nginx, 1 Rasa replica against 2 (bot/bench/replicas.py).
.PHONY: bench-replicas
bench-replicas: train db nginx
	$(PY) -m bot.bench.replicas $(BENCH_ARGS)

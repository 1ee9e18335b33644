"""`make bench`: throughput, latency, memory and training times of our stack, measured side by
side with Rasa's own `rasa init` bot (bench/rasa-init/). Entry point: `python -m bot.bench`."""

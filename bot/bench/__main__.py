"""`python -m bot.bench` (`make bench`): our stack against Rasa's `rasa init` bot, side by side.

Starts both bots (ours exactly as `make run` does, on ports 35005/35055/38000; the starter bot
on 36005), loads them over REST with simulated visitors (closed loop at 1, 4, 16, 64 visitors;
an open loop of 300 visitors with 5-10 s think time; one 100-turn conversation), then times
training and `make run`. Prints one table with the targets, writes results/bench.json and
results/bench.png. The full run takes about 30-60 minutes on 2 cores; --quick about 3.

Exit status: 0 when the run completed (targets shown in the table, and with --strict also
all met), 1 when it could not run, 2 with --strict when a target failed.
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.bench import report
from bot.bench.suite import BenchConfig, run


def _levels(text: str) -> tuple:
    try:
        levels = tuple(int(n) for n in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("levels are comma-separated integers") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("levels must be >= 1")
    return levels


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: visitors 1 and 4, a few seconds each, 1 repetition, "
                             "a small open loop, no training timings")
    parser.add_argument("--repetitions", type=_positive,
                        help="repetitions of the load (medians reported; default 3, quick 1)")
    parser.add_argument("--training-repetitions", type=_positive,
                        help="repetitions of the training and restart timings "
                             "(default: --repetitions)")
    parser.add_argument("--skip-training", action="store_true",
                        help="no training or `make run` timings (those targets: not measured)")
    parser.add_argument("--levels", type=_levels, help="closed-loop visitors, e.g. 1,4,16,64")
    parser.add_argument("--seed", type=int, help="seed of every visitor's choices")
    parser.add_argument("--out", type=Path, default=Path("results"),
                        help="where bench.json and bench.png go (default: results/)")
    parser.add_argument("--strict", action="store_true", help="exit 2 if any target fails")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> BenchConfig:
    config = BenchConfig.quick_run() if args.quick else BenchConfig()
    changes: Dict[str, Any] = {}
    if args.repetitions:
        changes["repetitions"] = args.repetitions
    reps = changes.get("repetitions", config.repetitions)
    changes["training_repetitions"] = args.training_repetitions or reps
    if args.skip_training:
        changes["training"] = False
    if args.levels:
        changes["levels"] = args.levels
    if args.seed is not None:
        changes["seed"] = args.seed
    return replace(config, **changes)


def machine() -> Dict[str, Any]:
    try:
        rasa_version = version("rasa")
    except PackageNotFoundError:
        rasa_version = None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "rasa": rasa_version,
        # Another job on the machine shows here: figures of a busy machine are not comparable.
        "load_average_at_start": list(os.getloadavg()),
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _terminate(signum: int, frame: Any) -> None:  # noqa: ARG001
    raise KeyboardInterrupt  # so the services are stopped by run()'s finally


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    config = config_from(args)
    signal.signal(signal.SIGTERM, _terminate)
    host = machine()
    started = time.monotonic()
    try:
        raw = run(config)
    except KeyboardInterrupt:
        print("\nInterrupted; services stopped.", file=sys.stderr)
        return 1
    except (RuntimeError, OSError, ValueError) as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    host["load_average_at_end"] = list(os.getloadavg())
    host["duration_s"] = round(time.monotonic() - started, 1)

    points = [t for t in config.turn_points if t <= config.turns]
    summary = report.summarize_run(raw, config.levels, points, config.turns, config.turn_window)
    result = report.build_json(summary, asdict(config), host)
    flat = result["figures"]
    print()
    print(report.render_table(report.rows(config.levels, points, config.open_visitors), flat))
    print()
    print(report.verdict(result["targets"]))
    for note in summary["notes"]:
        print("Note: " + note)
    json_path, png_path = args.out / "bench.json", args.out / "bench.png"
    report.write_json(result, json_path)
    report.plot(summary, png_path)
    print(f"Wrote {json_path} and {png_path}.")
    if args.strict and any(t["status"] == "fail" for t in result["targets"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

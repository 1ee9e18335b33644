"""`make bench-replicas`: throughput of the production profile through nginx with one Rasa
replica against two, on this machine, with the load generator of `make bench`.

Same conversations, seeds, warm-up and measured window as `make bench`'s closed loop; each
level runs against 1 replica, then 2, alternating the order between repetitions. Prints the
table and writes results/bench-replicas.json. Needs PostgreSQL and Redis (the machine's).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from typing import Dict, List, Optional

from bot.bench import conversations, load
from bot.bench.stats import combine, summarize
from bot.settings import PROJECT_ROOT, Settings

PORTS = {1: (45005, 45055, 48000), 2: (46005, 46055, 49000)}
SERVER = "postgresql://postgres@127.0.0.1:5432"


def _stack(replicas: int, db_url: str):
    from bot.serve import Stack

    rasa, actions, web = PORTS[replicas]
    settings = Settings(
        profile="prod", db_url=db_url, rasa_port=rasa, action_port=actions, web_port=web,
        rasa_replicas=replicas, action_replicas=2, redis_host="127.0.0.1", redis_db=replicas + 2,
        rasa_auth_token=uuid.uuid4().hex, model_server_token=uuid.uuid4().hex,
        cors_origins=f"http://localhost:{web}", rasa_public_url=f"http://localhost:{rasa}",
        rate_limit_per_sender=0, rate_limit_per_address=0,  # one load generator, one address
    )
    stack = Stack(settings=settings)
    logs = PROJECT_ROOT / "var" / "bench" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    for service in stack.services.values():
        service.log_path = logs / f"replicas{replicas}-{service.name}.log"
    return stack


def _database(name: str) -> str:
    from bot.contraindications.loader import load

    url = f"{SERVER}/{name}"
    load(url=url)  # creates, migrates and loads it, as `make db` does
    return url


def _drop(name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT", future=True)
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def run(levels: List[int], repetitions: int, warmup_s: float, measure_s: float,
        seed: int) -> Dict[str, Dict[int, Dict[str, Optional[float]]]]:
    source = conversations.ours()
    names = {n: f"bench_replicas_{n}_{uuid.uuid4().hex[:6]}" for n in (1, 2)}
    stacks = {n: _stack(n, _database(names[n])) for n in (1, 2)}
    raw: Dict[int, Dict[int, list]] = {1: {}, 2: {}}
    try:
        for n, stack in stacks.items():
            stack.start(timeout=300)
            url = f"http://127.0.0.1:{stack.settings.rasa_port}"
            asyncio.run(load.closed_loop(url, source, 4, 0, 2 * warmup_s, f"warmup/{n}", 30))
        for rep in range(repetitions):
            order = [1, 2] if rep % 2 == 0 else [2, 1]
            for level in levels:
                for n in order:
                    url = f"http://127.0.0.1:{stacks[n].settings.rasa_port}"
                    samples, start, end = asyncio.run(load.closed_loop(
                        url, source, level, warmup_s, measure_s, f"{seed}/r{rep}/n{level}", 30))
                    figures = summarize(samples, start, end)
                    raw[n].setdefault(level, []).append(figures)
                    print(f"[{rep + 1}/{repetitions}] {n} replica{'s' * (n > 1)}, {level} visitors: "
                          f"{figures['throughput']:.1f} msg/s, p50 {figures['p50_ms']:.0f} ms, "
                          f"errors {figures['errors']:.0f}", flush=True)
    finally:
        for stack in stacks.values():
            stack.stop()
        for name in names.values():
            _drop(name)
    return {f"{n} replica{'s' * (n > 1)}": {lvl: combine(reps) for lvl, reps in by_level.items()}
            for n, by_level in raw.items()}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="16,64")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--measure", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    results = run(levels, args.repetitions, args.warmup, args.measure, args.seed)
    print(f"\nThrough nginx, medians of {args.repetitions} repetitions, {os.cpu_count()} cores:")
    print(f"{'visitors':>8}  {'1 replica msg/s':>16}  {'2 replicas msg/s':>17}  {'ratio':>6}  "
          f"{'p50 1 / 2 (ms)':>15}")
    for level in levels:
        one, two = results["1 replica"][level], results["2 replicas"][level]
        ratio = two["throughput"] / one["throughput"] if one["throughput"] else float("nan")
        print(f"{level:>8}  {one['throughput']:>16.1f}  {two['throughput']:>17.1f}  {ratio:>5.2f}x  "
              f"{one['p50_ms']:>7.0f} / {two['p50_ms']:<6.0f}")
    out = PROJECT_ROOT / "results" / "bench-replicas.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cores": os.cpu_count(), "levels": levels, "results": {
        k: {str(lvl): v for lvl, v in by.items()} for k, by in results.items()}}, indent=2))
    print(f"-> {out.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

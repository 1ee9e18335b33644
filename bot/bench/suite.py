"""One benchmark run: both bots up side by side, the load at every level, then the timings.

The two bots share the machine's cores, so they are never loaded at the same time: at each
level one runs after the other, in an order that alternates between repetitions (so neither
always goes first, on a cooler or a warmer machine).
"""
from __future__ import annotations

import asyncio
import secrets
import subprocess
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

from bot.bench import conversations, load, training
from bot.bench.bots import INIT_PROJECT, BenchPaths, InitBot, OursBot, init_model
from bot.bench.memory import PeakMemory
from bot.bench.stats import summarize

Bot = Union[OursBot, InitBot]


@dataclass(frozen=True)
class BenchConfig:
    levels: Tuple[int, ...] = (1, 4, 16, 64)
    repetitions: int = 3
    warmup_s: float = 5.0        # excluded from every closed-loop level
    measure_s: float = 20.0      # the measured window of each level
    open_visitors: int = 300
    open_arrival_s: float = 60.0
    think_s: Tuple[float, float] = (5.0, 10.0)
    turns: int = 100
    turn_points: Tuple[int, ...] = (1, 25, 50, 100)
    turn_window: int = 2
    training: bool = True
    training_repetitions: int = 3
    seed: int = 20240601
    request_timeout_s: float = 30.0
    quick: bool = False

    @classmethod
    def quick_run(cls, **overrides: Any) -> "BenchConfig":
        """A smoke run of a few minutes: that everything starts, answers and is reported."""
        values: Dict[str, Any] = dict(
            levels=(1, 4), repetitions=1, warmup_s=2.0, measure_s=8.0, open_visitors=20,
            open_arrival_s=10.0, think_s=(1.0, 2.0), training=False, quick=True)
        values.update(overrides)
        return cls(**values)


@dataclass
class RawResults:
    closed_loop: Dict[str, Dict[int, List[Dict[str, Any]]]] = field(default_factory=dict)
    open_loop: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    turns: Dict[str, List[List[Optional[float]]]] = field(default_factory=dict)
    memory_mb: Dict[str, Optional[float]] = field(default_factory=dict)
    training: Dict[str, List[float]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def probe_turns(config: BenchConfig) -> List[int]:
    """The turns whose latencies make the turn-t figures (stats.turn_p50's windows)."""
    return sorted({t for point in config.turn_points
                   for t in range(max(1, point - config.turn_window),
                                  min(config.turns, point + config.turn_window) + 1)})


def _line(rep: int, config: BenchConfig, bot: str, what: str, figures: Dict[str, Any]) -> None:
    def ms(key: str) -> str:
        return "-" if figures[key] is None else f"{figures[key]:.0f}"

    print(f"[{rep + 1}/{config.repetitions}] {bot:<9} {what:<24} "
          f"{figures['throughput']:6.1f} msg/s  p50 {ms('p50_ms')} ms  p95 {ms('p95_ms')} ms  "
          f"p99 {ms('p99_ms')} ms  errors {figures['errors']}", flush=True)


def _load_phase(bots: List[Bot], sources: Dict[str, conversations.Conversations],
                config: BenchConfig, raw: RawResults) -> None:
    timeout = config.request_timeout_s
    for bot in bots:  # warm-up: model graphs, caches and connections; all of it discarded
        samples, _, _ = asyncio.run(load.closed_loop(
            bot.url, sources[bot.name], 4, 0, 2 * config.warmup_s, f"warmup/{bot.name}", timeout))
        if not any(s.ok for s in samples):
            errors = sorted({s.error for s in samples})
            raise RuntimeError(f"{bot.name} answered none of {len(samples)} warm-up messages "
                               f"({', '.join(errors)}); see var/bench/log/")
        print(f"Warm-up: {bot.name} answered {sum(s.ok for s in samples)} of {len(samples)} "
              "messages (not counted)", flush=True)
    for rep in range(config.repetitions):
        order = bots if rep % 2 == 0 else bots[::-1]
        for level in config.levels:
            for bot in order:
                seed = f"{config.seed}/{bot.name}/r{rep}/n{level}"
                samples, start, end = asyncio.run(load.closed_loop(
                    bot.url, sources[bot.name], level, config.warmup_s, config.measure_s,
                    seed, timeout))
                figures = summarize(samples, start, end)
                raw.closed_loop.setdefault(bot.name, {}).setdefault(level, []).append(figures)
                _line(rep, config, bot.name, f"{level} visitor{'s' * (level != 1)}", figures)
        for bot in order:
            samples, start, end = asyncio.run(load.open_loop(
                bot.url, sources[bot.name], config.open_visitors, config.open_arrival_s,
                config.think_s, f"{config.seed}/{bot.name}/r{rep}/open", timeout))
            figures = summarize(samples, start, end + 1e-9)  # every message counts
            raw.open_loop.setdefault(bot.name, []).append(figures)
            _line(rep, config, bot.name, f"open, {config.open_visitors} visitors", figures)
        for bot in order:
            curve = asyncio.run(load.long_conversation(
                bot.url, sources[bot.name].long(config.turns, probe_turns(config)),
                f"{config.seed}/{bot.name}/r{rep}/turns", timeout))
            raw.turns.setdefault(bot.name, []).append(curve)
            answered = [v for v in curve if v is not None]
            print(f"[{rep + 1}/{config.repetitions}] {bot.name:<9} {config.turns}-turn "
                  f"conversation: {len(answered)} answered", flush=True)


def _timings(paths: BenchPaths, ours: OursBot, token: str, config: BenchConfig,
             raw: RawResults) -> None:
    print("Training and restart timings (services stopped)...", flush=True)
    try:
        raw.training.update(training.time_training(paths, config.training_repetitions))
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        raw.notes.append(f"training not measured: {error}")
    try:
        raw.training["restart_s"] = training.time_restart(
            paths, f"sqlite:///{ours.db_path}", token, config.training_repetitions)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        raw.notes.append(f"restart not measured: {error}")
    for note in raw.notes:
        print("  " + note, flush=True)


def run(config: BenchConfig) -> RawResults:
    paths = BenchPaths().create()
    token = secrets.token_urlsafe(24)  # the API is enabled on both servers, never open
    sources = {"ours": conversations.ours(),
               "rasa_init": conversations.rasa_init(INIT_PROJECT / "data" / "nlu.yml")}
    ours, init = OursBot(paths, token), InitBot(paths, init_model(paths), token)
    bots: List[Bot] = [ours, init]
    raw = RawResults()
    memory: Optional[PeakMemory] = None
    try:
        for bot in bots:  # one at a time: both loading a model at once would slow each
            print(f"Starting {bot.name}...", flush=True)
            bot.start()
        memory = PeakMemory({f"{bot.name}.{name}": pid for bot in bots
                             for name, pid in bot.pids().items()}).start()
        _load_phase(bots, sources, config, raw)
    finally:
        if memory:  # the last sample, while the services still run
            raw.memory_mb = memory.stop()
        for bot in bots:
            bot.stop()
    if config.training:
        _timings(paths, ours, token, config, raw)
    return raw

"""Simulated visitors over Rasa's REST channel (asyncio + aiohttp).

- closed loop: N visitors, each sending its next message as soon as the last is answered, for a
  warm-up then a measured window of fixed length;
- open loop: visitors arriving over a bounded time, each holding one conversation with a seeded
  think time between its turns (how a clinic's site is really used);
- one long conversation, for latency against conversation length.

Every request has a timeout and every run an overall deadline, so a hung bot ends the run with
errors instead of hanging the benchmark.
"""
from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import List, Optional, Sequence, Tuple

import aiohttp

from bot.bench.conversations import Conversations
from bot.bench.stats import Sample


def webhook(base_url: str) -> str:
    return f"{base_url}/webhooks/rest/webhook"


def _session(timeout_s: float) -> aiohttp.ClientSession:
    # No connection limit: each visitor holds at most one request, and aiohttp's default (100)
    # would queue the open loop's visitors inside the client and count that as bot latency.
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                 timeout=aiohttp.ClientTimeout(total=timeout_s))


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str,
               turn: int = 0) -> Sample:
    """One message; an error is a non-200, an exception or timeout, or an empty reply."""
    start = time.monotonic()
    error = ""
    try:
        async with session.post(url, json={"sender": sender, "message": text}) as response:
            body = await response.json(content_type=None) if response.status == 200 else None
            if response.status != 200:
                error = f"HTTP {response.status}"
            elif not isinstance(body, list) or not body:
                error = "empty reply"
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        error = type(exc).__name__
    latency_ms = (time.monotonic() - start) * 1000
    return Sample(start, latency_ms, not error, turn, error)


async def closed_loop(base_url: str, conversations: Conversations, visitors: int,
                      warmup_s: float, measure_s: float, seed: str, timeout_s: float = 30,
                      ) -> Tuple[List[Sample], float, float]:
    """Returns (samples, window_start, window_end): the window excludes the warm-up."""
    url = webhook(base_url)
    samples: List[Sample] = []
    t0 = time.monotonic()
    window_start, window_end = t0 + warmup_s, t0 + warmup_s + measure_s

    async def visitor(index: int, session: aiohttp.ClientSession) -> None:
        rng = random.Random(f"{seed}/visitor-{index}")
        for number in itertools.count():
            sender = f"{seed}/v{index}/c{number}"
            for turn, text in enumerate(conversations.pick(rng), 1):
                if time.monotonic() >= window_end:
                    return
                sample = await send(session, url, sender, text, turn)
                samples.append(sample)
                if not sample.ok:  # a refused connection fails at once: do not spin on it
                    await asyncio.sleep(0.1)

    async with _session(timeout_s) as session:
        tasks = [asyncio.ensure_future(visitor(i, session)) for i in range(visitors)]
        await _bounded(tasks, warmup_s + measure_s + timeout_s + 10)
    return samples, window_start, window_end


async def open_loop(base_url: str, conversations: Conversations, visitors: int,
                    arrival_s: float, think_s: Tuple[float, float], seed: str,
                    timeout_s: float = 30) -> Tuple[List[Sample], float, float]:
    """Visitors arrive at seeded times over `arrival_s`; returns (samples, first send, last
    answer). The longest possible run is bounded by arrival_s plus each turn's timeout and
    longest think time."""
    url = webhook(base_url)
    rng = random.Random(f"{seed}/arrivals")
    arrivals = sorted(rng.uniform(0, arrival_s) for _ in range(visitors))
    plans = [(at, conversations.pick(random.Random(f"{seed}/visitor-{i}")))
             for i, at in enumerate(arrivals)]
    samples: List[Sample] = []
    t0 = time.monotonic()

    async def visitor(index: int, at: float, texts: List[str],
                      session: aiohttp.ClientSession) -> None:
        think = random.Random(f"{seed}/think-{index}")
        await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
        for turn, text in enumerate(texts, 1):
            if turn > 1:
                await asyncio.sleep(think.uniform(*think_s))
            samples.append(await send(session, url, f"{seed}/v{index}", text, turn))

    longest = max((len(texts) for _, texts in plans), default=0)
    bound = arrival_s + longest * (timeout_s + think_s[1]) + 10
    async with _session(timeout_s) as session:
        tasks = [asyncio.ensure_future(visitor(i, at, texts, session))
                 for i, (at, texts) in enumerate(plans)]
        await _bounded(tasks, bound)
    if not samples:
        return samples, t0, t0
    return samples, min(s.start for s in samples), max(s.end for s in samples)


async def long_conversation(base_url: str, texts: Sequence[str], sender: str,
                            timeout_s: float = 30, give_up: int = 3) -> List[Optional[float]]:
    """Latency (ms) of each turn of one conversation, None where there was no answer.
    Gives up after `give_up` failures in a row (a dead bot would otherwise cost a timeout
    per remaining turn); the turns not sent are None too."""
    url = webhook(base_url)
    latencies: List[Optional[float]] = []
    failures = 0
    async with _session(timeout_s) as session:
        for turn, text in enumerate(texts, 1):
            sample = await send(session, url, sender, text, turn)
            latencies.append(sample.latency_ms if sample.ok else None)
            failures = 0 if sample.ok else failures + 1
            if failures >= give_up:
                break
    return latencies + [None] * (len(texts) - len(latencies))


async def first_answer(base_url: str, text: str, sender: str, started: float,
                       deadline_s: float, interval_s: float = 0.25) -> Optional[float]:
    """Seconds from `started` (monotonic) until the bot first answers `text`, polling;
    None if it has not answered deadline_s after `started`."""
    url = webhook(base_url)
    async with _session(10) as session:
        while time.monotonic() - started < deadline_s:
            if (await send(session, url, sender, text)).ok:
                return time.monotonic() - started
            await asyncio.sleep(interval_s)
    return None


async def _bounded(tasks: List["asyncio.Future[None]"], seconds: float) -> None:
    """Wait for every task, cancelling what is left after `seconds`."""
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in done:
        if task.exception() is not None:
            raise task.exception()

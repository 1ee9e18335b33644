"""Pure statistics of the benchmark: percentiles of one run, medians over repetitions."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

METRICS = ("throughput", "p50_ms", "p95_ms", "p99_ms", "errors", "messages")


@dataclass(frozen=True)
class Sample:
    """One visitor message: when it was sent (s, monotonic), how long the reply took, and
    whether it was a real answer (HTTP 200 with at least one bot message)."""
    start: float
    latency_ms: float
    ok: bool
    turn: int = 0
    error: str = ""

    @property
    def end(self) -> float:
        return self.start + self.latency_ms / 1000


def percentile(values: Iterable[float], q: float) -> Optional[float]:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    """Median of the values that were measured (None: not measured)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(ours: Optional[float], theirs: Optional[float]) -> Optional[float]:
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


def summarize(samples: Sequence[Sample], window_start: float, window_end: float) -> Dict[str, float]:
    """Figures of one load run, from the messages sent inside [window_start, window_end).

    Messages sent before the window are the warm-up; messages sent after it are not started
    (visitors stop at window_end). Latency percentiles are of the answered messages; throughput
    is answered messages per second of the window.
    """
    inside = [s for s in samples if window_start <= s.start < window_end]
    answered = [s.latency_ms for s in inside if s.ok]
    seconds = max(window_end - window_start, 1e-9)
    return {
        "throughput": len(answered) / seconds,
        "p50_ms": percentile(answered, 50),
        "p95_ms": percentile(answered, 95),
        "p99_ms": percentile(answered, 99),
        "errors": len(inside) - len(answered),
        "messages": len(inside),
    }


def combine(repetitions: Sequence[Dict[str, Optional[float]]]) -> Dict[str, Optional[float]]:
    """Medians over repetitions; errors and messages are totals (one error anywhere counts)."""
    combined: Dict[str, Optional[float]] = {}
    for key in METRICS:
        values = [r.get(key) for r in repetitions]
        if key in ("errors", "messages"):
            combined[key] = sum(v for v in values if v is not None) if repetitions else None
        else:
            combined[key] = median(values)
    return combined


def paired_ratios(ours: Sequence[Dict[str, Optional[float]]],
                  theirs: Sequence[Dict[str, Optional[float]]]) -> Dict[str, Optional[float]]:
    """Median over repetitions of ours/theirs, each ratio from the same repetition (the two
    bots measured one after the other, minutes apart, on the same machine)."""
    return {
        key: median(ratio(a.get(key), b.get(key)) for a, b in zip(ours, theirs))
        for key in ("throughput", "p50_ms", "p95_ms", "p99_ms")
    }


def turn_p50(curves: Sequence[Sequence[Optional[float]]], at: Sequence[int],
             window: int = 2) -> Dict[int, Optional[float]]:
    """p50 latency at turns `at` (1-based) of long conversations.

    `curves` holds one latency list per conversation (None: no answer). A turn's figure is the
    median over every conversation of the turns within `window` of it, so one slow message
    (a garbage collection, a disk flush) does not decide it.
    """
    result: Dict[int, Optional[float]] = {}
    for turn in at:
        values: List[float] = []
        for curve in curves:
            lo, hi = max(1, turn - window), min(len(curve), turn + window)
            values += [v for v in curve[lo - 1:hi] if v is not None]
        result[turn] = median(values)
    return result

"""The benchmark's output: medians and ratios of the raw results, the targets, one printed
table, results/bench.json and results/bench.png. Pure functions except the two writers."""
from __future__ import annotations

import json
import operator
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.bench.stats import combine, median, paired_ratios, ratio, turn_p50

BOTS = ("ours", "rasa_init")
SCHEMA = "bot.bench/1"
Figures = Dict[str, Optional[float]]


@dataclass(frozen=True)
class Target:
    figure: str
    op: str        # "<=", ">=" or "=="
    limit: float
    label: str

    def check(self, value: Optional[float]) -> str:
        if value is None:
            return "not measured"
        compare = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}[self.op]
        return "pass" if compare(value, self.limit) else "fail"

    def text(self) -> str:
        unit = "x" if self.figure.startswith("ratio.") or self.figure.endswith("growth") else ""
        return f"{self.op} {self.limit:g}{unit}"


# The targets. Memory in MB of 10^6 bytes (1.2 GB = 1200 MB, the stricter reading).
TARGETS: Tuple[Target, ...] = (
    Target("ours.closed.1.p50_ms", "<=", 40, "1 visitor: p50 <= 40 ms"),
    Target("ours.closed.1.p95_ms", "<=", 80, "1 visitor: p95 <= 80 ms"),
    Target("ours.closed.16.throughput", ">=", 60, "16 visitors: >= 60 msg/s"),
    Target("ours.closed.16.errors", "==", 0, "16 visitors: zero errors"),
    Target("ratio.closed.16.throughput", ">=", 2.5, "16 visitors: >= 2.5x rasa-init's msg/s"),
    Target("ours.turn.growth", "<=", 1.2, "p50 at the last turn <= 1.2x turn 1"),
    Target("training.full_s", "<=", 120, "full training <= 120 s"),
    Target("training.retrain_s", "<=", 60, "+20 examples, retrain <= 60 s"),
    Target("training.restart_s", "<=", 30, "make run to first answer <= 30 s"),
    Target("memory.ours.rasa", "<=", 1200, "Rasa server <= 1.2 GB RSS"),
    Target("memory.ours.actions", "<=", 300, "action server <= 300 MB RSS"),
)


def summarize_run(raw: Any, levels: Sequence[int], turn_points: Sequence[int], turns: int,
                  turn_window: int) -> Dict[str, Any]:
    """Medians over repetitions (and ours/rasa-init ratios, paired per repetition) of a
    suite.RawResults. JSON-ready: levels and turns are string keys."""
    closed = {bot: {str(level): {"repetitions": reps, "median": combine(reps)}
                    for level, reps in sorted(by_level.items())}
              for bot, by_level in raw.closed_loop.items()}
    closed_ratio = {str(level): paired_ratios(raw.closed_loop.get("ours", {}).get(level, []),
                                              raw.closed_loop.get("rasa_init", {}).get(level, []))
                    for level in levels}
    open_loop = {bot: {"repetitions": reps, "median": combine(reps)}
                 for bot, reps in raw.open_loop.items()}
    points = [t for t in turn_points if t <= turns]
    turn_figures: Dict[str, Any] = {}
    for bot, curves in raw.turns.items():
        p50 = turn_p50(curves, points, turn_window)
        turn_figures[bot] = {
            "p50_ms": {str(t): v for t, v in p50.items()},
            "growth": ratio(p50[points[-1]], p50[points[0]]) if points else None,
            "curves_ms": curves,
        }
    return {
        "closed_loop": closed,
        "closed_loop_ratio": closed_ratio,
        "open_loop": open_loop,
        "open_loop_ratio": paired_ratios(raw.open_loop.get("ours", []),
                                         raw.open_loop.get("rasa_init", [])),
        "turns": turn_figures,
        "training": {key: {"repetitions": values, "median": median(values)}
                     for key, values in raw.training.items()},
        "memory_mb": dict(raw.memory_mb),
        "notes": list(raw.notes),
    }


def figures(summary: Mapping[str, Any]) -> Figures:
    """Every reported number under one flat name, e.g. `ours.closed.16.throughput`."""
    flat: Figures = {}
    for bot, by_level in summary["closed_loop"].items():
        for level, entry in by_level.items():
            for key, value in entry["median"].items():
                flat[f"{bot}.closed.{level}.{key}"] = value
    for level, ratios in summary["closed_loop_ratio"].items():
        for key, value in ratios.items():
            flat[f"ratio.closed.{level}.{key}"] = value
    for bot, entry in summary["open_loop"].items():
        for key, value in entry["median"].items():
            flat[f"{bot}.open.{key}"] = value
    for key, value in summary["open_loop_ratio"].items():
        flat[f"ratio.open.{key}"] = value
    for bot, entry in summary["turns"].items():
        for turn, value in entry["p50_ms"].items():
            flat[f"{bot}.turn.{turn}"] = value
        flat[f"{bot}.turn.growth"] = entry["growth"]
    for key, entry in summary["training"].items():
        flat[f"training.{key}"] = entry["median"]
    for name, value in summary["memory_mb"].items():
        flat[f"memory.{name}"] = value
    # Ratios of the medians where the two bots were not measured in pairs.
    for key in [k for k in flat if k.startswith("ours.turn.")]:
        flat["ratio" + key[len("ours"):]] = ratio(flat[key], flat.get("rasa_init" + key[4:]))
    flat["ratio.memory.rasa"] = ratio(flat.get("memory.ours.rasa"),
                                      flat.get("memory.rasa_init.rasa"))
    return flat


def evaluate(flat: Mapping[str, Optional[float]],
             targets: Sequence[Target] = TARGETS) -> List[Dict[str, Any]]:
    return [{**asdict(t), "target": t.text(), "value": flat.get(t.figure),
             "status": t.check(flat.get(t.figure))} for t in targets]


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    unit: str                 # how values print: "msg/s", "ms", "s", "MB", "count"
    ours: Optional[str]       # figure names
    init: Optional[str]
    ratio: Optional[str]


def rows(levels: Sequence[int], turn_points: Sequence[int], open_visitors: int) -> List[Row]:
    metrics = (("throughput", "msg/s", "throughput"), ("p50_ms", "ms", "p50"),
               ("p95_ms", "ms", "p95"), ("p99_ms", "ms", "p99"), ("errors", "count", "errors"))
    out: List[Row] = []
    for level in levels:
        name = f"{level} visitor{'s' if level != 1 else ''}"
        for key, unit, label in metrics:
            ratio_key = None if key == "errors" else f"ratio.closed.{level}.{key}"
            out.append(Row(f"{name}: {label} ({unit})", unit, f"ours.closed.{level}.{key}",
                           f"rasa_init.closed.{level}.{key}", ratio_key))
    for key, unit, label in metrics:
        out.append(Row(f"open loop, {open_visitors} visitors: {label} ({unit})", unit,
                       f"ours.open.{key}", f"rasa_init.open.{key}",
                       None if key == "errors" else f"ratio.open.{key}"))
    for turn in turn_points:
        out.append(Row(f"p50 at turn {turn} (ms)", "ms", f"ours.turn.{turn}",
                       f"rasa_init.turn.{turn}", f"ratio.turn.{turn}"))
    out.append(Row(f"p50 turn {turn_points[-1]} / turn {turn_points[0]}" if turn_points
                   else "p50 growth", "x", "ours.turn.growth", "rasa_init.turn.growth", None))
    out += [
        Row("full rasa train, cold cache (s)", "s", "training.full_s", None, None),
        Row("retrain after +20 examples (s)", "s", "training.retrain_s", None, None),
        Row("make run to first answer (s)", "s", "training.restart_s", None, None),
        Row("peak RSS, Rasa server (MB)", "MB", "memory.ours.rasa", "memory.rasa_init.rasa",
            "ratio.memory.rasa"),
        Row("peak RSS, action server (MB)", "MB", "memory.ours.actions", None, None),
        Row("peak RSS, web app (MB)", "MB", "memory.ours.web", None, None),
    ]
    return out


def fmt(value: Optional[float], unit: str) -> str:
    if value is None:
        return "-"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "ms" and value < 10:
        return f"{value:.1f}"
    return f"{value:.0f}" if unit in ("ms", "MB") else f"{value:.1f}"


def _result(statuses: Sequence[str]) -> str:
    if not statuses:
        return ""
    if "fail" in statuses:
        return "FAIL"
    return "pass" if all(s == "pass" for s in statuses) else "n/a"


def render_table(table_rows: Sequence[Row], flat: Mapping[str, Optional[float]],
                 targets: Sequence[Target] = TARGETS) -> str:
    """One plain-text table: each bot, ours/rasa-init, the targets of the row, pass/FAIL."""
    header = ("measure", "ours", "rasa init", "ours/init", "target", "result")
    lines: List[Tuple[str, ...]] = [header]
    for row in table_rows:
        mine = [t for t in targets if t.figure in (row.ours, row.ratio)]
        target_text = "; ".join(t.text() if t.figure == row.ours else f"ratio {t.text()}"
                                for t in mine)
        lines.append((
            row.label,
            fmt(flat.get(row.ours) if row.ours else None, row.unit),
            fmt(flat.get(row.init) if row.init else None, row.unit),
            fmt(flat.get(row.ratio) if row.ratio else None, "x"),
            target_text,
            _result([t.check(flat.get(t.figure)) for t in mine]),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(line: Sequence[str]) -> str:
        cells = [line[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(line[1:4], widths[1:4])]
        cells += [line[4].ljust(widths[4]), line[5]]
        return "  ".join(cells).rstrip()

    rule = "-" * len(render(header))
    return "\n".join([render(header), rule, *(render(line) for line in lines[1:])])


def verdict(evaluated: Sequence[Mapping[str, Any]]) -> str:
    counts = {s: sum(1 for e in evaluated if e["status"] == s)
              for s in ("pass", "fail", "not measured")}
    return (f"Targets: {counts['pass']} pass, {counts['fail']} fail, "
            f"{counts['not measured']} not measured.")


# --- the files ---------------------------------------------------------------------------------


def build_json(summary: Mapping[str, Any], config: Mapping[str, Any],
               machine: Mapping[str, Any]) -> Dict[str, Any]:
    flat = figures(summary)
    evaluated = evaluate(flat)
    return {
        "schema": SCHEMA,
        "machine": dict(machine),
        "config": dict(config),
        **summary,
        "figures": flat,
        "targets": evaluated,
        "passed": all(e["status"] == "pass" for e in evaluated),
    }


def write_json(report: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def plot(summary: Mapping[str, Any], path: Path) -> None:
    """p50 and p95 latency against concurrent visitors, both bots, log-log."""
    with warnings.catch_warnings():  # matplotlib 3.5 on a newer pyparsing: deprecation noise
        warnings.simplefilter("ignore", DeprecationWarning)
        _plot(summary, path)


def _plot(summary: Mapping[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no display
    from matplotlib.ticker import ScalarFormatter

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    styles = {"ours": ("tab:blue", "ours (ketamine FAQ)"),
              "rasa_init": ("tab:orange", "rasa init bot")}
    for bot, by_level in summary["closed_loop"].items():
        color, name = styles.get(bot, ("tab:gray", bot))
        levels = sorted(by_level, key=int)
        for key, marker, dash in (("p50_ms", "o", "-"), ("p95_ms", "s", "--")):
            points = [(int(n), by_level[n]["median"][key]) for n in levels
                      if by_level[n]["median"][key] is not None]
            if points:
                ax.plot(*zip(*points), dash, marker=marker, color=color,
                        label=f"{name} {key[:3]}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())  # 100, not 10^2
    all_levels = sorted({int(n) for by_level in summary["closed_loop"].values() for n in by_level})
    if all_levels:
        ax.set_xticks(all_levels)
        ax.set_xticklabels([str(n) for n in all_levels])
    ax.set_xlabel("concurrent visitors (closed loop)")
    ax.set_ylabel("latency per message (ms)")
    ax.set_title("REST latency against visitors, medians over repetitions")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)

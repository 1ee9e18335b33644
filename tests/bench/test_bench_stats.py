"""The benchmark's pure parts, on made-up numbers: no server, no model, no timing."""
from __future__ import annotations

import json
import random

import pytest

from bot.bench import conversations, memory, report, stats
from bot.bench.bots import INIT_PROJECT
from bot.bench.stats import Sample
from bot.bench.suite import RawResults
from bot.bench.training import NEW_EXAMPLES, add_examples
from bot.settings import PROJECT_ROOT
from tests.conftest import nlu_examples

LEVELS = (1, 16)
TURNS = (1, 25, 50, 100)


def level(throughput, p50, p95, errors=0):
    return {"throughput": throughput, "p50_ms": p50, "p95_ms": p95, "p99_ms": p95 * 1.5,
            "errors": errors, "messages": 100}


def fake_raw(ours_16=(70.0, 72.0, 65.0), init_16=(20.0, 25.0, 26.0)) -> RawResults:
    raw = RawResults()
    raw.closed_loop = {
        "ours": {1: [level(30, 30, 60), level(31, 35, 70), level(29, 70, 75)],
                 16: [level(t, 200, 400) for t in ours_16]},
        "rasa_init": {1: [level(40, 25, 40)] * 3, 16: [level(t, 500, 900) for t in init_16]},
    }
    raw.open_loop = {"ours": [level(18, 40, 90)] * 3, "rasa_init": [level(18, 30, 60)] * 3}
    raw.turns = {"ours": [[30.0] * 50 + [33.0] * 50], "rasa_init": [[20.0] * 100]}
    raw.memory_mb = {"ours.rasa": 900.0, "ours.actions": 350.0, "ours.web": 120.0,
                     "rasa_init.rasa": 600.0}
    raw.training = {"full_s": [130.0, 110.0, 125.0], "retrain_s": [40.0, 45.0, 50.0]}
    return raw


def summary_of(raw: RawResults) -> dict:
    return report.summarize_run(raw, LEVELS, TURNS, 100, 2)


# --- stats -------------------------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks_like_numpy():
    values = list(range(100, 0, -1))  # 1..100, unsorted
    assert stats.percentile(values, 50) == pytest.approx(50.5)
    assert stats.percentile(values, 95) == pytest.approx(95.05)
    assert stats.percentile(values, 99) == pytest.approx(99.01)
    assert stats.percentile([7.0], 99) == 7.0
    assert stats.percentile([], 50) is None


def test_a_run_counts_only_its_window_and_errors_are_not_latencies():
    samples = [
        Sample(0.5, 900, True),           # warm-up: excluded
        Sample(1.0, 10, True), Sample(1.5, 30, True), Sample(2.0, 20, True),
        Sample(2.5, 30_000, False, error="TimeoutError"),
        Sample(3.5, 10, True),            # after the window: excluded
    ]
    figures = stats.summarize(samples, 1.0, 3.0)
    assert figures["messages"] == 4
    assert figures["errors"] == 1
    assert figures["throughput"] == pytest.approx(3 / 2.0)
    assert figures["p50_ms"] == 20
    assert figures["p99_ms"] < 100  # the timeout is an error, not a 30 s latency


def test_repetitions_combine_as_medians_with_error_totals():
    combined = stats.combine([level(10, 30, 60, errors=0), level(30, 50, 90, errors=2),
                              level(20, 40, 70, errors=1)])
    assert combined["throughput"] == 20
    assert combined["p50_ms"] == 40
    assert combined["p95_ms"] == 70
    assert combined["errors"] == 3
    assert stats.median([None, 4.0, 2.0]) == 3.0
    assert stats.median([None]) is None


def test_ratios_are_paired_per_repetition_then_the_median():
    ratios = stats.paired_ratios([level(60, 20, 40), level(90, 20, 40), level(30, 20, 40)],
                                 [level(20, 10, 10), level(30, 40, 10), level(30, 20, 0)])
    assert ratios["throughput"] == 3.0        # median of 3, 3, 1
    assert ratios["p50_ms"] == 1.0            # median of 2, 0.5, 1
    assert ratios["p95_ms"] == 4.0            # division by zero is skipped: median of 4, 4


def test_latency_at_a_turn_is_the_median_of_its_window():
    curve = [float(t) for t in range(1, 101)]
    p50 = stats.turn_p50([curve, [None] * 100], (1, 50, 100), window=2)
    assert p50 == {1: 2.0, 50: 50.0, 100: 99.0}


# --- targets, table, JSON ----------------------------------------------------------------------


def test_targets_pass_fail_or_not_measured():
    evaluated = {e["figure"]: e["status"] for e in report.evaluate(
        report.figures(summary_of(fake_raw())))}
    assert evaluated["ours.closed.1.p50_ms"] == "pass"          # median 35 (mean 45)
    assert evaluated["ours.closed.1.p95_ms"] == "pass"          # median 70 <= 80
    assert evaluated["ours.closed.16.throughput"] == "pass"     # median 70 >= 60
    assert evaluated["ours.closed.16.errors"] == "pass"
    assert evaluated["ratio.closed.16.throughput"] == "pass"    # median of 3.5, 2.88, 2.5
    assert evaluated["ours.turn.growth"] == "pass"              # 33 / 30 = 1.1
    assert evaluated["training.full_s"] == "fail"               # median 125 > 120
    assert evaluated["training.retrain_s"] == "pass"
    assert evaluated["training.restart_s"] == "not measured"
    assert evaluated["memory.ours.rasa"] == "pass"
    assert evaluated["memory.ours.actions"] == "fail"           # 350 > 300


def test_throughput_against_rasa_init_fails_below_two_and_a_half_times():
    flat = report.figures(summary_of(fake_raw(ours_16=(70, 70, 70), init_16=(30, 30, 30))))
    assert flat["ratio.closed.16.throughput"] == pytest.approx(70 / 30)
    status = {e["figure"]: e["status"] for e in report.evaluate(flat)}
    assert status["ratio.closed.16.throughput"] == "fail"
    assert status["ours.closed.16.throughput"] == "pass"


def test_one_error_anywhere_fails_the_zero_errors_target():
    raw = fake_raw()
    raw.closed_loop["ours"][16][1]["errors"] = 1
    status = {e["figure"]: e["status"] for e in report.evaluate(report.figures(summary_of(raw)))}
    assert status["ours.closed.16.errors"] == "fail"


def test_the_table_shows_both_bots_the_ratio_and_the_verdict_of_each_target():
    flat = report.figures(summary_of(fake_raw(ours_16=(70, 70, 70), init_16=(30, 30, 30))))
    table = report.render_table(report.rows(LEVELS, TURNS, 300), flat)
    lines = {line.split("  ")[0].strip(): line for line in table.splitlines()}
    row = lines["16 visitors: throughput (msg/s)"]
    assert "70.0" in row and "30.0" in row         # ours and rasa-init medians
    assert ">= 60; ratio >= 2.5x" in row and row.endswith("FAIL")  # ratio 2.33x
    assert lines["full rasa train, cold cache (s)"].endswith("FAIL")
    assert lines["make run to first answer (s)"].endswith("n/a")
    assert lines["1 visitor: p50 (ms)"].endswith("pass")
    assert lines["peak RSS, action server (MB)"].endswith("FAIL")
    assert "open loop, 300 visitors: p95 (ms)" in lines
    assert len({len(line) for line in table.splitlines()[:2]}) == 1  # header as wide as the rule


def test_the_json_report_has_every_section_and_round_trips():
    summary = summary_of(fake_raw())
    result = report.build_json(summary, {"levels": list(LEVELS)}, {"cpus": 2})
    loaded = json.loads(json.dumps(result))
    assert loaded["schema"] == report.SCHEMA
    for key in ("machine", "config", "closed_loop", "closed_loop_ratio", "open_loop",
                "open_loop_ratio", "turns", "training", "memory_mb", "figures", "targets"):
        assert key in loaded, key
    assert set(loaded["closed_loop"]) == {"ours", "rasa_init"}
    assert set(loaded["closed_loop"]["ours"]) == {"1", "16"}
    assert len(loaded["closed_loop"]["ours"]["16"]["repetitions"]) == 3
    assert loaded["closed_loop"]["ours"]["16"]["median"]["throughput"] == 70.0
    assert loaded["turns"]["ours"]["p50_ms"]["100"] == 33.0
    assert len(loaded["targets"]) == len(report.TARGETS)
    assert {"figure", "target", "value", "status"} <= set(loaded["targets"][0])
    assert loaded["passed"] is False


# --- inputs: conversations, the 20 new examples, /proc parsing ---------------------------------


def test_visitors_conversations_are_reproducible_from_the_seed():
    ours = conversations.ours()
    first = [ours.pick(random.Random("seed/visitor-1")) for _ in range(3)]
    again = [ours.pick(random.Random("seed/visitor-1")) for _ in range(3)]
    assert first == again
    assert len(ours.long(100)) == 100


def test_the_rasa_init_visitors_use_its_own_training_examples():
    init = conversations.rasa_init(INIT_PROJECT / "data" / "nlu.yml")
    known = {text for _, text in nlu_examples(INIT_PROJECT / "data" / "nlu.yml")}
    texts = init.pick(random.Random(1)) + init.long(30, [1, 2, 3])
    assert texts and set(texts) <= known


def test_latency_by_turn_compares_the_same_message_at_every_turn():
    from bot.bench.suite import BenchConfig, probe_turns

    config = BenchConfig()
    turns = probe_turns(config)
    assert turns == [1, 2, 3, 23, 24, 25, 26, 27, 48, 49, 50, 51, 52, 98, 99, 100]
    texts = conversations.ours().long(config.turns, turns)
    assert len(texts) == 100
    assert {texts[t - 1] for t in turns} == {"how many sessions will I need?"}
    assert len(set(texts)) > 10  # the other turns are a varied conversation


def test_the_twenty_new_examples_are_new_and_go_into_existing_intents():
    nlu = PROJECT_ROOT / "data" / "nlu.yml"
    existing = {text.lower() for _, text in nlu_examples(nlu)}
    new = [text for texts in NEW_EXAMPLES.values() for text in texts]
    assert len(new) == 20 and not set(new) & existing
    added = {(i, t) for i, t in nlu_examples_from_text(add_examples(nlu.read_text(), NEW_EXAMPLES))}
    assert {(i, t) for i, texts in NEW_EXAMPLES.items() for t in texts} <= added
    with pytest.raises(KeyError):
        add_examples(nlu.read_text(), {"faq/no_such_question": ["x"]})


def nlu_examples_from_text(text: str):
    import yaml

    for block in yaml.safe_load(text)["nlu"]:
        for line in block.get("examples", "").splitlines():
            if line.strip().startswith("- "):
                yield block["intent"], line.strip()[2:]


def test_peak_memory_reads_proc_status_and_walks_the_process_tree():
    status = "Name:\tpython\nVmPeak:\t 900 kB\nVmHWM:\t  51200 kB\nVmRSS:\t  40960 kB\n"
    assert memory.status_kb(status, "VmHWM") == 51200
    assert memory.status_kb(status, "VmSwap") is None
    parents = {10: 1, 11: 10, 12: 11, 13: 1, 14: 10}
    assert sorted(memory.descendants(10, parents)) == [10, 11, 12, 14]

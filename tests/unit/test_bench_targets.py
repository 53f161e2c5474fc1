"""BENCHMARKS.md's Targets table: each target of issue 19 judged from the figures, a miss shown with its cause."""

from __future__ import annotations

from typing import Any

from bench.markdown import render
from bench.measure import Timing, ratio_goal


def figure(workload: str, what: str, scenario: str, tend: float, cf: float, rss_mib: float = 30, large: bool = False):
    agents = {
        "tend": {"median_s": tend, "min_s": tend, "max_s": tend, "peak_rss_kib": rss_mib * 1024},
        "cf-agent": {"median_s": cf, "min_s": cf, "max_s": cf, "peak_rss_kib": 20 * 1024},
    }
    return {
        "workload": workload, "what": what, "scenario": scenario, "large": large, "agents": agents,
        "ratios": {"cf-agent": tend / cf},
    }  # fmt: skip


def peers() -> dict[str, Any]:
    return {
        "peers": {"cf-agent": {"available": True, "version": "3.21"}},
        "figures": [
            figure("W1", "1,000 files, literal content", "first run", 0.9, 1.0),
            figure("W1", "1,000 files, literal content", "no-op run", 0.8, 1.0),
            figure("W2", "1,000 files from one template", "first run", 0.5, 1.0),
            figure("W7", "start-up", "empty catalog", 0.1, 0.04),
            figure("W1", "10,000 files, literal content", "first run", 9.0, 5.0, 80, large=True),
            figure("W1", "10,000 files, literal content", "no-op run", 0.6, 1.0, 55, large=True),
        ],
    }


def rows(text: str) -> dict[str, list[str]]:
    table = text.split("## Targets", 1)[1].split("##", 1)[0]
    cells = [line.strip("|").split(" | ") for line in table.splitlines() if line.startswith("| ")]
    return {row[0].strip(): [c.strip() for c in row[1:]] for row in cells[1:]}


def test_each_cf_agent_target_is_judged_from_the_ratio_of_one_rotation() -> None:
    found = rows(render(peers(), None))
    assert found["W1 1,000 files, literal content, first run: tend <= 1.0x cf-agent"][1] == "ok"
    assert found["W1 1,000 files, literal content, no-op run: tend <= 0.7x cf-agent"][1] == "**MISSED**"
    assert found["W2 1,000 files from one template, first run: tend <= 0.6x cf-agent"][1] == "ok"
    assert found["W7 start-up, empty catalog: tend <= 2.0x cf-agent"][1:] == [
        "**MISSED**", "2.50x > 2.0x; see [What limits tend](#what-limits-tend-and-the-fixes)"
    ]  # fmt: skip
    assert found["W1 10,000 files, literal content, no-op run: tend <= 0.7x cf-agent"][1] == "ok"
    assert found["W1 10,000 files, literal content, first run: tend vs cf-agent (reported)"][1] == "no target"
    rss = found["W1 10,000 files, literal content, no-op run: tend's peak RSS <= 60 MiB"]
    assert rss[0].startswith("55.0 MiB (largest of tend's 10,000 files, literal content runs: 80.0 MiB)")
    assert rss[1] == "ok"


def test_without_peers_or_with_a_peer_missing_targets_stay_visible_as_not_measured() -> None:
    found = rows(render(None, None))
    assert found["tend against cf-agent (W1, W2, W7)"][1:] == ["not measured", "run `make bench-peers`"]
    goal = ratio_goal("W11 edits: tend <= 1.0x cf-agent", 1.0, Timing((1.0,)), None, "cf-agent")
    suite = {"settings": {"quick": True, "repeat": 1, "warmup": 0}, "results": [result_with(goal)]}
    found = rows(render(None, suite))
    assert found["W11 edits: tend <= 1.0x cf-agent"][1:] == ["not measured", "cf-agent is not installed"]


def test_a_suite_goal_missed_keeps_its_cause() -> None:
    goal = ratio_goal("W9 diff second run: <= 0.25x the first run", 0.25, Timing((0.5,)), Timing((1.0,)), "first")
    assert (goal.met, goal.cause) == (False, "0.50x > 0.25x")
    suite = {"settings": {"quick": False, "repeat": 5, "warmup": 1}, "results": [result_with(goal)]}
    measured, verdict, cause = rows(render(None, suite))["W9 diff second run: <= 0.25x the first run"]
    assert measured == "0.50x (500 ms vs 1,000 ms)"
    assert verdict == "**MISSED**" and cause.startswith("0.50x > 0.25x; see")


def result_with(goal) -> dict[str, Any]:
    base = {"name": "x", "median": 1.0, "min": 1.0, "max": 1.0, "times_s": [1.0]}
    return {
        **base, "workload": "W", "unit": "ms", "baseline": {**base}, "ratio": 1.0, "peak_rss_kib": 0, "note": "",
        "goals": [goal.to_json()],
    }  # fmt: skip

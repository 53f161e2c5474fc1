"""The evidence a promotion needs, judged host by host; the two engines read into one model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.pipeline.assess import assess, judge
from agent.pipeline.evidence import HostEvidence, from_report
from agent.pipeline.model import EvidenceRule, pipeline_from_text
from agent.pipeline.prometheus import evidence_of
from agent.reports.metrics import render_host_metrics
from agent.reports.model import Report, ResourceResult, Status

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
C = "c" * 40
RULE = EvidenceRule(share=100.0, soak_s=1800, stale_after_s=3900)


def healthy(host: str, *, converged: int = 60, run: int = 5, **changes) -> HostEvidence:
    values = dict(last_run=NOW - timedelta(minutes=run), success=True, commit=C,
                  converged_since=NOW - timedelta(minutes=converged), checks_passed=2)  # fmt: skip
    return HostEvidence(host, **{**values, **changes})


def test_each_way_a_host_falls_short_is_named():
    assert judge(healthy("a"), C, RULE, NOW) == (True, "converged 1h ago, 2 checks passed")
    assert judge(None, C, RULE, NOW) == (False, "missing: no run reported")
    other = healthy("a", commit="d" * 40, refused=C)
    assert judge(other, C, RULE, NOW) == (False, f"missing: runs {'d' * 12}, not {C[:12]} (it refused {C[:12]})")
    assert judge(healthy("a", run=70), C, RULE, NOW)[1] == "stale: last run 1h10m ago (stale after 1h5m)"
    failed = healthy("a", success=False, failed=2)
    assert judge(failed, C, RULE, NOW)[1] == "failed: its last run failed (2 resources failed)"
    assert judge(healthy("a", checks_failed=1), C, RULE, NOW)[1] == "failed: 1 checks failed"
    assert judge(healthy("a", converged=10), C, RULE, NOW)[1] == "too recent: converged 10m ago, the soak is 30m"
    assert judge(healthy("a", converged_since=None), C, RULE, NOW)[1].startswith("too recent: it has not finished")


def test_the_share_of_each_stage_followed_is_needed_and_a_stage_without_hosts_refuses():
    pipeline = pipeline_from_text("stages:\n  dev: {}\n  qa: {}\n  prod: {after: [dev, qa]}\nevidence: {hosts: 50%}\n")
    members = {"dev": ["d1", "d2", "d3"], "qa": []}
    evidence = {"d1": healthy("d1"), "d2": healthy("d2"), "d3": healthy("d3", converged=1)}
    result = assess(pipeline, "prod", C, members, evidence, NOW)
    dev, qa = result.stages
    assert (dev.required, dev.passing, dev.ok) == (2, 2, True)
    assert not qa.ok and not result.ok and result.stage_names == ["qa"]
    assert "qa: no inventory host has environment qa" in result.lines()[-1]


def test_a_report_and_the_metrics_of_the_same_run_read_alike():
    finished = NOW - timedelta(minutes=3)
    report = Report("1", "web1", finished - timedelta(seconds=1), "apply", bundle={"commit": C, "signer": "F" * 40})
    report.finished = finished
    report.checks = [{"status": "passed"}, {"status": "failed"}]
    report.resources = [ResourceResult("file:/a", Status.FAILED), ResourceResult("file:/b", Status.CHANGED, drift=True)]
    converged = NOW - timedelta(hours=2)
    as_json = report.to_json()
    as_json["bundle"] = {**as_json["bundle"], "converged_since": converged.isoformat(), "refused": {"commit": "r" * 40}}
    from_json = from_report("web1", as_json, "reports/web1/last_run.json")
    text = render_host_metrics(report, host="web1", stage="prod", converged_since=converged, refused="r" * 40)
    samples = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, labels = series.partition("{")
        pairs = dict(item.split("=", 1) for item in labels.rstrip("}").split(","))
        samples.append(({"__name__": name, **{k: v.strip('"') for k, v in pairs.items()}}, float(value)))
    from_metrics = evidence_of("web1", samples)
    for field in ("commit", "success", "checks_passed", "checks_failed", "failed", "drifted", "changed", "refused"):
        assert getattr(from_json, field) == getattr(from_metrics, field), field
    assert from_metrics.stage == "prod" and from_metrics.status == from_json.status == "failed"
    assert abs((from_json.converged_since - from_metrics.converged_since).total_seconds()) < 0.01
    assert abs((from_json.last_run - from_metrics.last_run).total_seconds()) < 0.01


def test_every_series_carries_the_host_label_escaped():
    report = Report("1", "x", NOW, "apply", finished=NOW)
    text = render_host_metrics(report, host='we"b\\1')
    series = [line for line in text.splitlines() if not line.startswith("#")]
    assert series and all('host="we\\"b\\\\1"' in line for line in series)
    assert "tend_bundle_info" not in text and "tend_bundle_refused" not in text  # no bundle, nothing refused

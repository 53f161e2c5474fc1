"""pipeline.yaml read and refused with file:line; the stricter of two pipelines; hosts by stage."""

from __future__ import annotations

import pytest

from agent.errors import ConfigError
from agent.pipeline.model import hosts_by_stage, inventory_problems, pipeline_from_text, stricter

GOOD = """\
stages:
  dev: {}
  staging: {after: [dev]}
  perf: {after: dev}
  prod: {after: [staging, perf]}
evidence: {hosts: 50%, soak: 1h, source: reports=/srv/reports, stale_after: 2h}
"""


def test_a_pipeline_is_a_dag_with_its_evidence_rule():
    pipeline = pipeline_from_text(GOOD)
    assert pipeline.stages == ["dev", "staging", "perf", "prod"]
    assert pipeline.after["prod"] == ("staging", "perf") and pipeline.after["perf"] == ("dev",)
    assert pipeline.first("dev") and not pipeline.first("prod")
    assert pipeline.before("prod") == ["staging", "perf", "dev"]
    rule = pipeline.evidence
    assert (rule.share, rule.soak_s, rule.stale_after_s, str(rule.source)) == (50.0, 3600, 7200, "reports=/srv/reports")
    defaults = pipeline_from_text("stages: {dev: {}}\n").evidence
    assert (defaults.share, defaults.soak_s, defaults.stale_after_s, defaults.source) == (100.0, 1800, 3900, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "stages:\n  a: {after: [c]}\n  b: {after: [a]}\n  c: {after: [b]}\n",
            "pipeline.yaml:2: stages follow each other in a cycle: a -> c -> b -> a",
        ),
        (
            "stages:\n  dev: {}\n  prod: {after: [stagign]}\n",
            "pipeline.yaml:3: stage prod: unknown stage 'stagign' in after (stages: dev, prod)",
        ),
        (
            "stages:\n  dev: {}\n  staging: {}\n  prod: {after: [stagin]}\n",
            "pipeline.yaml:4: stage prod: unknown stage 'stagin' in after (did you mean 'staging'?)",
        ),
        (
            "stages:\n  dev: {}\nevidence:\n  soak: 30 minutes\n",
            "pipeline.yaml:4: evidence: soak: '30 minutes' is not a duration (like 90, 30s, 30m, 2h)",
        ),
        (
            "stages:\n  dev: {}\nevidence:\n  hosts: 150%\n",
            "pipeline.yaml:4: evidence: hosts '150%' must be a share of a stage's hosts, like 100% or 50%",
        ),
        (
            "stages:\n  dev: {}\nevidence: {hosts: all}\n",
            "pipeline.yaml:3: evidence: hosts 'all' must be a share of a stage's hosts, like 100% or 50%",
        ),
        (
            "stages:\n  dev: {}\nevidence: {source: graphite=x}\n",
            "pipeline.yaml:3: evidence source 'graphite=x' must be prometheus=URL or reports=DIR",
        ),
        ("stages:\n  dev: {}\n  dev: {}\n", "pipeline.yaml:3: duplicate key 'dev' (first defined on line 2)"),
        ("stages:\n  dev: {afterr: []}\n", "pipeline.yaml:2: stage dev: unknown key 'afterr' (did you mean 'after'?)"),
        ("stages:\n  dev/x: {}\n", "pipeline.yaml:2: stage name 'dev/x' must be letters, digits, '-' or '_'"),
        ("stages:\n  dev: {after: [dev]}\n", "pipeline.yaml:2: stage dev cannot follow itself"),
        ("stage: {}\n", "pipeline.yaml:1: unknown key 'stage' (did you mean 'stages'?)"),
    ],
)
def test_mistakes_are_refused_with_file_and_line(text, message):
    with pytest.raises(ConfigError) as raised:
        pipeline_from_text(text)
    assert str(raised.value).startswith(message)


def test_the_stricter_pipeline_keeps_every_stage_and_order_of_both():
    deployed = pipeline_from_text("stages:\n  dev: {}\n  staging: {after: [dev]}\n  prod: {after: [staging]}\n")
    candidate = pipeline_from_text("stages:\n  dev: {}\n  prod: {after: [dev]}\nevidence: {hosts: 50%, soak: 2h}\n")
    merged = stricter(deployed, candidate)
    assert merged.after == {"dev": (), "prod": ("staging", "dev"), "staging": ("dev",)}
    assert (merged.evidence.share, merged.evidence.soak_s) == (100.0, 7200)
    assert stricter(None, candidate) is candidate and stricter(deployed, None) is deployed
    assert stricter(None, None) is None


def test_orders_that_contradict_each_other_are_refused():
    deployed = pipeline_from_text("stages:\n  a: {}\n  b: {after: [a]}\n")
    candidate = pipeline_from_text("stages:\n  b: {}\n  a: {after: [b]}\n")
    with pytest.raises(ConfigError, match="contradicts the deployed one's order: stages follow each other in a cycle"):
        stricter(deployed, candidate)


def test_hosts_by_stage_and_inventory_problems_name_their_lines(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/inventory.yaml").write_text(
        "hosts:\n  web1: {environment: prod}\n  web2:\n    role: web\n    environment: qa\n"
    )
    pipeline = pipeline_from_text("stages:\n  dev: {}\n  prod: {after: [dev]}\n")
    assert hosts_by_stage(pipeline, {"web1": {"environment": "prod"}, "x": {}}) == {"dev": [], "prod": ["web1"]}
    problems = [str(p) for p in inventory_problems(pipeline, tmp_path)]
    assert problems == [
        "keys/inventory.yaml:5: host web2: environment 'qa' is no stage of pipeline.yaml (stages: dev, prod); "
        "a host in no stage refuses to deploy",
        "pipeline.yaml:2: stage dev has no inventory host (none in keys/inventory.yaml has environment: dev)",
    ]

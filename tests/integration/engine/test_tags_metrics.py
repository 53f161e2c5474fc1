"""--tags selects resources; metrics_file gets Prometheus textfile metrics after each full run."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.engine.conftest import Site

CLASSES = {
    "data/common.yaml": "classes: [web, db]\n",
    "manifests/web.yaml": 'resources:\n  - file: /etc/web.conf\n    content: "w\\n"\n    tags: [frontend]\n'
    '  - file: /etc/web2.conf\n    content: "w2\\n"\n',
    "manifests/db.yaml": 'resources:\n  - file: /etc/db.conf\n    content: "d\\n"\n',
}


def test_tags_select_by_tag_and_by_class(site: Site) -> None:
    site.write(CLASSES)
    tagged = site.apply("--tags", "frontend")
    assert tagged.statuses == {"file:/etc/web.conf": "changed"}
    assert not site.path("/etc/db.conf").exists()
    by_class = site.apply("--tags", "db,nothing")
    assert by_class.statuses == {"file:/etc/db.conf": "changed"}
    everything = site.apply()
    assert everything.statuses == {
        "file:/etc/web.conf": "unchanged",
        "file:/etc/web2.conf": "changed",
        "file:/etc/db.conf": "unchanged",
    }


def test_metrics_textfile(site: Site, tmp_path: Path) -> None:
    site.write(CLASSES)
    metrics = tmp_path / "textfile" / "tend.prom"
    config = tmp_path / "agent.yaml"
    config.write_text(f"metrics_file: {metrics}\n")
    assert site.apply("--config", str(config)).returncode == 2
    text = metrics.read_text()
    host = re.search(r'^tend_last_run_exit_code\{host="([^"]+)"\}', text, re.M).group(1)
    assert all(f'host="{host}"' in line for line in text.splitlines() if line.startswith("tend_"))  # §8.4
    plain = text.replace(f'host="{host}",', "").replace(f'{{host="{host}"}}', "")
    values = dict(re.findall(r"^(tend_\S+) (\S+)$", plain, re.M))
    assert values['tend_resources{status="total"}'] == "3" and values['tend_resources{status="changed"}'] == "3"
    assert values["tend_last_run_exit_code"] == "0"
    assert float(values["tend_last_success_timestamp_seconds"]) > 0
    assert "# TYPE tend_last_run_duration_seconds gauge" in text
    site.path("/etc/db.conf").write_text("edited\n")
    site.apply("--config", str(config))
    assert re.search(r'^tend_resources\{host="[^"]+",status="drifted"\} 1$', metrics.read_text(), re.M)
    assert metrics.stat().st_mode & 0o777 == 0o644


def test_only_a_full_apply_writes_the_metrics(site: Site, tmp_path: Path) -> None:
    """DESIGN §8.1: a --tags apply or a noop run says nothing of the whole catalog, so the evidence stays."""
    site.write(CLASSES)
    metrics = tmp_path / "tend.prom"
    config = tmp_path / "agent.yaml"
    config.write_text(f"metrics_file: {metrics}\n")
    assert site.apply("--config", str(config)).returncode == 2
    full = metrics.read_bytes()
    site.path("/etc/db.conf").write_text("edited\n")
    assert site.apply("--config", str(config), "--tags", "web").returncode == 0
    site.apply("--config", str(config), "--noop")
    assert metrics.read_bytes() == full
    assert site.apply("--config", str(config)).returncode == 2
    assert metrics.read_bytes() != full

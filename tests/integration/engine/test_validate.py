"""`validate`: new content is checked on the temp file; refused content never lands, dependents are skipped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.engine.conftest import Site, needs_root


def install_command(root: Path, name: str) -> None:
    """The host's `name` and the libraries it links, copied into `root`: validate runs chrooted there."""
    binary = Path(shutil.which(name) or f"/usr/bin/{name}").resolve()
    linked = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
    libraries = [word for word in linked.split() if word.startswith("/")]
    for path in [binary, *map(Path, libraries)]:
        for target in {path, path.resolve()}:
            copy = root / str(target).lstrip("/")
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target.resolve(), copy)
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    if not (root / "usr/bin" / name).exists():
        (root / "usr/bin" / name).symlink_to(binary)


@pytest.fixture
def site(site: Site) -> Site:
    assert site.root is not None
    install_command(site.root, "grep")
    return site


MANIFEST = """
resources:
  - file: /etc/app.conf
    content: "{{ facts.body }}"
    validate: grep -q good {path}
  - file: /etc/list.conf
    content: "{{ facts.body }}"
    validate: [grep, -q, good, "{path}"]
  - file: /etc/dependent.conf
    content: "dep {{ facts.body }}"
    require: file:/etc/app.conf
  - file: /etc/transitive.conf
    content: "t {{ facts.body }}"
    require: file:/etc/dependent.conf
  - file: /etc/independent.conf
    content: "other {{ facts.other }}"
"""


@needs_root
def test_refused_content_keeps_the_old_file_and_skips_dependents(site: Site) -> None:
    site.write({"data/common.yaml": "classes: [app]\n", "manifests/app.yaml": MANIFEST})
    good = site.apply("--fact", "body=good v1", "--fact", "other=1")
    assert good.returncode == 2, good.stdout + good.stderr
    assert set(good.statuses.values()) == {"changed"}
    assert site.path("/etc/app.conf").read_text() == "good v1"

    bad = site.apply("--fact", "body=bad v2", "--fact", "other=2")
    assert bad.returncode == 6, bad.stdout + bad.stderr  # failures and changes
    assert bad.statuses == {
        "file:/etc/app.conf": "failed",
        "file:/etc/list.conf": "failed",
        "file:/etc/dependent.conf": "skipped",
        "file:/etc/transitive.conf": "skipped",
        "file:/etc/independent.conf": "changed",
    }
    error = bad.result("file:/etc/app.conf")["error"]
    assert "/etc/app.conf" in error and "validate refused the new content: exited with status 1" in error
    assert "validate refused" in bad.result("file:/etc/list.conf")["error"]
    assert bad.result("file:/etc/dependent.conf")["error"] == "dependency file:/etc/app.conf failed"
    assert bad.result("file:/etc/transitive.conf")["error"] == "dependency file:/etc/dependent.conf failed"
    assert bad.report is not None and bad.report["status"] == "failed"

    assert site.path("/etc/app.conf").read_text() == "good v1"
    assert site.path("/etc/list.conf").read_text() == "good v1"
    assert site.path("/etc/dependent.conf").read_text() == "dep good v1"
    assert site.path("/etc/transitive.conf").read_text() == "t good v1"
    assert site.path("/etc/independent.conf").read_text() == "other 2"
    # The refused temp file is gone.
    assert sorted(p.name for p in site.path("/etc").iterdir() if p.name.startswith(".")) == []

    plain = site.apply("--fact", "body=bad v2", "--fact", "other=2", detailed=False)
    assert plain.returncode == 1
    only_failures = site.apply("--fact", "body=bad v2", "--fact", "other=2")
    assert only_failures.returncode == 4
    assert only_failures.status("file:/etc/independent.conf") == "unchanged"


@needs_root
def test_refused_content_is_reported_in_text_output(site: Site) -> None:
    site.write({"data/common.yaml": "classes: [app]\n", "manifests/app.yaml": MANIFEST})
    run = site.apply("--fact", "body=bad", "--fact", "other=1", json_report=False, detailed=False)
    assert run.returncode == 1
    assert "failed         file:/etc/app.conf: /etc/app.conf: validate refused the new content" in run.stdout
    assert "skipped        file:/etc/dependent.conf: dependency file:/etc/app.conf failed" in run.stdout
    assert not site.path("/etc/app.conf").exists()
    assert site.path("/etc/independent.conf").read_text() == "other 1"


def test_a_command_the_root_lacks_is_an_error_naming_it(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": """
resources:
  - file: /etc/nginx.conf
    content: "x"
    validate: nginx -t -c {path}
""",
        }
    )
    run = site.apply()
    assert run.returncode == 4, run.stdout + run.stderr
    assert "validate: nginx is not in the root" in run.result("file:/etc/nginx.conf")["error"]
    assert not site.path("/etc/nginx.conf").exists()

"""The audit's HTML page in a real headless browser (Debian's chromium): the matrix, its filters."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.cli.secrets_audit import FIXES
from agent.cli.secrets_audit_html import render_html
from agent.fleet.recipients import Usage
from agent.fleet.secrets_audit import Audit, AuditRow
from agent.repo.inventory import Inventory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make deps installs it as root)")

ROWS = [
    AuditRow("hieradata/prod.yaml", "db::password", "app1", "host", "A1", True, True, "ok"),
    AuditRow("hieradata/prod.yaml", "db::password", "web1", "host", "W1", True, False, "over"),
    AuditRow("hieradata/prod.yaml", "db::password", "alice", "admin", "AL", True, False, "ok"),
    AuditRow("hieradata/web.yaml", "nginx::tls_key", "web1", "host", "W1", True, True, "ok"),
    AuditRow("hieradata/web.yaml", "nginx::tls_key", "alice", "admin", "AL", True, False, "ok"),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    usage = Usage(Inventory({"app1": {}, "web1": {}}, ("alice",)), {})
    path = tmp_path_factory.mktemp("audit") / "audit.html"
    path.write_text(render_html(Audit(ROWS, 2, usage, []), FIXES))
    return path


def dom(page: Path, fragment: str, profile: Path) -> str:
    """The page as the browser left it after running its script (with `#fragment` as filters)."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--virtual-time-budget=3000", "--dump-dom"]  # fmt: skip
    done = subprocess.run(
        [CHROMIUM, *flags, f"{page.as_uri()}#{fragment}"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-500:]
    return done.stdout


def visible_rows(html: str) -> list[str]:
    rows = re.findall(r"<tr ([^>]*)>(.*?)</tr>", html, re.S)
    return [re.search(r'data-sort="([^"]*)"', body).group(1) for attrs, body in rows
            if "data-file" in attrs and "hidden" not in attrs]  # fmt: skip


def test_the_matrix_is_drawn(page: Path, tmp_path: Path) -> None:
    html = dom(page, "", tmp_path)
    assert visible_rows(html) == ["hieradata/prod.yaml:db::password", "hieradata/web.yaml:nginx::tls_key"]
    assert re.search(r'<td class="over"[^>]*>over</td>', html)
    assert re.search(r'<td class="admin"[^>]*>r</td>', html)
    assert "web1 on db::password (hieradata/prod.yaml): fix with tend secrets rekey" in html


def test_filter_by_flag(page: Path, tmp_path: Path) -> None:
    assert visible_rows(dom(page, "flag=over", tmp_path)) == ["hieradata/prod.yaml:db::password"]


def test_filter_by_host_and_file(page: Path, tmp_path: Path) -> None:
    assert visible_rows(dom(page, "host=app1", tmp_path)) == ["hieradata/prod.yaml:db::password"]
    assert visible_rows(dom(page, "file=web", tmp_path)) == ["hieradata/web.yaml:nginx::tls_key"]

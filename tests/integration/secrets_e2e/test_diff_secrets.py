"""`tend diff` compiles with public keys only: secrets show as placeholders, in its output and in its cache."""

from __future__ import annotations

import json
import subprocess

from tests.integration.secrets_e2e.conftest import leaks


def git(site, *args: str) -> None:
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@t",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@t", "PATH": "/usr/bin:/bin"}  # fmt: skip
    subprocess.run(["git", "-C", str(site.repo), *args], env=env, check=True, capture_output=True, timeout=60)


def test_diff_shows_placeholders_never_plaintexts(site):
    git(site, "init", "-q", "-b", "main")
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "site")
    template = "REGION={{ lookup('prod::region') }}\nTOKEN={{ lookup('shared::db_token') }}\n"
    site.write({"templates/app.env.j2": template})
    text = site.admin("diff")
    assert text.returncode == 2, text.stderr
    assert "      -DB_TOKEN=<secret hieradata/environments/prod.yaml:shared::db_token>\n" in text.stdout
    assert "      +TOKEN=<secret hieradata/environments/prod.yaml:shared::db_token>\n" in text.stdout
    as_json = site.admin("diff", "--format", "json")
    assert [h["host"] for h in json.loads(as_json.stdout)["hosts"]] == ["app1"]
    cached = b"".join(p.read_bytes() for p in site.home.rglob("*.tcc"))
    assert cached, "the compile of HEAD is cached under ~/.cache/tend"
    for output in (text.stdout, text.stderr, as_json.stdout, cached):
        assert leaks(output) == []

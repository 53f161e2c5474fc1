"""The Debian package: built with debhelper by packaging/build-deb, lintian-clean, tend's modules in a private
directory, a man page and bash completion generated from the parser, and it runs on Debian 12's own libraries."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT

DEBIAN_PYTHON = Path("/usr/bin/python3")
BUILD_TOOLS = ("dpkg-buildpackage", "dh", "dh_python3", "dh_bash-completion", "lintian")


def _cannot_build() -> str | None:
    missing = [tool for tool in ("dpkg-deb", *BUILD_TOOLS) if shutil.which(tool) is None]
    if not DEBIAN_PYTHON.exists() or missing:
        return f"needs Debian's /usr/bin/python3 and {', '.join(missing)} (make deps)"
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import yaml, jinja2, psutil, gnupg"], capture_output=True)
    if probe.returncode != 0:
        return "needs python3-yaml, python3-jinja2, python3-psutil, python3-gnupg (make deps)"
    return None


pytestmark = pytest.mark.skipif(_cannot_build() is not None, reason=str(_cannot_build()))


def build(out: Path, version: str | None = None, tree: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TEND_DEB_VERSION"}
    if version:
        env["TEND_DEB_VERSION"] = version
    return subprocess.run([tree / "packaging/build-deb", out], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build(tmp_path_factory.mktemp("dist"))
    assert built.returncode == 0, built.stderr
    return Path(built.stdout.strip())


@pytest.fixture(scope="module")
def unpacked(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unpacked")
    subprocess.run(["dpkg-deb", "-x", package, root], check=True)
    return root


def field(package: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", package, name], capture_output=True, text=True, check=True).stdout.strip()


def control_file(package: Path, name: str) -> str:
    done = subprocess.run(["dpkg-deb", "--info", package, name], capture_output=True, text=True, check=True)
    return done.stdout


def version() -> str:
    found = re.search(r'^__version__ = "(.*)"$', (PROJECT / "agent/__init__.py").read_text(), re.M)
    assert found
    return found.group(1)


def test_lintian_reports_no_error_and_no_warning(package: Path) -> None:
    done = subprocess.run(["lintian", "--fail-on", "error,warning", package], capture_output=True, text=True)
    tags = [line for line in done.stdout.splitlines() if re.match(r"[EW]: ", line)]
    assert done.returncode == 0 and not tags, done.stdout + done.stderr


def test_every_lintian_override_says_why() -> None:
    for overrides in (PROJECT / "packaging/debian").glob("*lintian-overrides"):
        lines = overrides.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.startswith("#"):
                assert number > 1 and lines[number - 2].startswith("# "), f"{overrides}:{number}: no justification"


def test_named_after_the_version_with_debians_libraries_as_dependencies(package: Path) -> None:
    assert package.name == f"tend_{version()}_all.deb"
    assert (field(package, "Package"), field(package, "Version"), field(package, "Architecture")) == (
        "tend",
        version(),
        "all",
    )
    depends = {re.split(r"[\s(:]", part.strip())[0] for part in field(package, "Depends").split(",")}
    assert {"python3", "python3-yaml", "python3-jinja2", "python3-psutil", "python3-gnupg", "gnupg", "git"} <= depends
    assert "python3-schedule" in depends
    assert "python3-watchdog" in depends


def test_modules_in_a_private_directory_byte_compiled_at_install(package: Path, unpacked: Path) -> None:
    assert (unpacked / "usr/share/tend/agent/cli/main.py").is_file()
    assert not (unpacked / "usr/lib/python3").exists()
    assert not [p for p in unpacked.rglob("*") if p.name == "agent" and "usr/share/tend" not in str(p)]
    assert not list(unpacked.rglob("__pycache__")) and not list(unpacked.rglob("*.pyc"))
    assert 'sys.path.insert(0, "/usr/share/tend")' in (unpacked / "usr/bin/tend").read_text()
    assert "py3compile -p tend /usr/share/tend" in control_file(package, "postinst")
    assert "py3clean -p tend" in control_file(package, "prerm")


def test_units_conffile_copyright_and_changelog(package: Path, unpacked: Path) -> None:
    for path in ("lib/systemd/system/tend.service", "lib/systemd/system/tend.timer", "etc/tend/agent.yaml"):
        assert (unpacked / path).is_file(), path
    assert control_file(package, "conffiles").split() == ["/etc/tend/agent.yaml"]
    copyright = (unpacked / "usr/share/doc/tend/copyright").read_text()
    assert copyright.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
    changelog = gzip.decompress((unpacked / "usr/share/doc/tend/changelog.gz").read_bytes()).decode()
    assert changelog.startswith(f"tend ({version()}) ")


def test_maintainer_scripts_never_stop_or_restart_the_service_a_run_is_in(package: Path) -> None:
    """A run that upgrades tend itself goes on: only the timer is started, restarted and stopped."""
    postinst, prerm, postrm = (control_file(package, name) for name in ("postinst", "prerm", "postrm"))
    assert "deb-systemd-helper enable 'tend.timer'" in postinst
    assert "deb-systemd-invoke $_dh_action 'tend.timer'" in postinst
    assert "deb-systemd-invoke stop 'tend.timer'" in prerm and '"$1" = remove' in prerm
    assert "tend.service" not in postinst + prerm + postrm
    assert "systemctl" not in re.sub(r"systemctl --system daemon-reload", "", postinst + prerm + postrm)
    assert "kept this host's key in /var/lib/tend/gnupg" in postrm


def test_man_page_generated_from_the_parser(unpacked: Path) -> None:
    page = unpacked / "usr/share/man/man1/tend.1.gz"
    env = {**os.environ, "MANWIDTH": "100"}
    rendered = subprocess.run(["man", "--warnings", "-l", "-Tutf8", str(page)], capture_output=True, text=True, env=env)
    assert rendered.returncode == 0 and not rendered.stderr, rendered.stderr
    text = rendered.stdout
    assert "tend - masterless configuration-management agent" in re.sub(r".\x08", "", text)
    for command in ("apply", "run", "keys init", "secrets rekey", "audit verify", "report"):
        assert re.search(rf"^ {{3}}{command}$", re.sub(r".\x08", "", text), re.M), command
    assert f"tend {version()}" in text


def complete(completion: Path, *words: str) -> list[str]:
    """What bash offers after `words` (the last one being the word under the cursor)."""
    script = (
        f'source {completion}; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tend; printf "%s\\n" "${{COMPREPLY[@]}}"'
    )
    done = subprocess.run(["bash", "-c", script, "bash", "tend", *words], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completion_of_commands_options_and_choices(unpacked: Path) -> None:
    completion = unpacked / "usr/share/bash-completion/completions/tend"
    assert complete(completion, "k") == ["keys"]
    assert complete(completion, "keys", "") == ["init", "list"]
    assert complete(completion, "--debug", "apply", "--no") == ["--no-cache", "--noop"]
    assert complete(completion, "apply", "--repo", "/srv", "--det") == ["--detailed-exitcodes"]
    assert complete(completion, "lookup", "--merge", "") == ["first", "unique", "hash", "deep"]
    assert complete(completion, "apply", "--repo", "") == []  # a file name: bash's own completion (-o default)


def test_runs_on_debian_12_libraries(unpacked: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(unpacked / "usr/share/tend"),
           "TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent", "TEND_FACTS_DIR": "/nonexistent"}  # fmt: skip
    tend = [str(DEBIAN_PYTHON), str(unpacked / "usr/bin/tend")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*tend, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)

    assert run("--version").stdout == f"tend {version()}\n"
    assert run("check").returncode == 0
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    args = (
        "apply",
        "--host",
        "web1",
        "--root",
        str(root),
        "--state-dir",
        str(tmp_path / "state"),
        "--detailed-exitcodes",
    )
    first = run(*args)
    assert first.returncode == 2, first.stderr
    assert (root / "etc/nginx/nginx.conf").read_text().startswith("# Managed by tend")
    assert run(*args).returncode == 0


def test_a_test_build_of_another_version(tmp_path: Path) -> None:
    """TEND_DEB_VERSION=V: package, changelog and `tend --version` all say V; the working tree is unchanged."""
    built = build(tmp_path, f"{version()}+t1")
    assert built.returncode == 0, built.stderr
    package = Path(built.stdout.strip())
    assert package.name == f"tend_{version()}+t1_all.deb"
    subprocess.run(["dpkg-deb", "-x", package, tmp_path / "x"], check=True)
    assert f'__version__ = "{version()}+t1"' in (tmp_path / "x/usr/share/tend/agent/__init__.py").read_text()
    changelog = gzip.decompress((tmp_path / "x/usr/share/doc/tend/changelog.gz").read_bytes()).decode()
    assert changelog.startswith(f"tend ({version()}+t1) ") and f"tend ({version()}) " in changelog
    refused = build(tmp_path, "1.0-2")
    assert refused.returncode == 1 and "TEND_DEB_VERSION=1.0-2 is not a native Debian version" in refused.stderr


def test_a_version_without_a_changelog_entry_is_refused(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for part in ("agent", "packaging"):
        shutil.copytree(PROJECT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "README.md", tree)
    init = tree / "agent/__init__.py"
    init.write_text(init.read_text().replace(f'"{version()}"', '"9.9.9"'))
    refused = build(tmp_path / "dist", tree=tree)
    assert refused.returncode == 1
    assert f"packaging/debian/changelog:1: the top entry is version {version()}" in refused.stderr
    assert '__version__ = "9.9.9"' in refused.stderr and not (tmp_path / "dist").exists()

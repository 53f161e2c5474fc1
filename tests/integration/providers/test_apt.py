"""The package type with the apt provider, through `tend apply`, on test-built .debs from a local repository.

Only tendtest-<token>-* packages are installed on the host, and each test purges its own in teardown.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.providers.conftest import HOST_DPKG, AptRepo, Site, dpkg_status, dpkg_version, hold, needs

pytestmark = [needs("apt-get", "dpkg-deb", "dpkg-scanpackages"), HOST_DPKG]


@pytest.fixture
def pkg_site(site: Site, apt_repo: AptRepo) -> Site:
    site.env = apt_repo.env()
    return site


def test_install_pinned_upgrade_downgrade_and_idempotence(pkg_site: Site, apt_repo: AptRepo) -> None:
    name = apt_repo.add("hello", "1.0")
    apt_repo.add("hello", "2.0")
    manifest = f"""
        resources:
          - package: {name}
            ensure: ENSURE
    """

    pkg_site.manifest(manifest.replace("ENSURE", '"1.0"'))
    first = pkg_site.apply()
    assert first.returncode == 2, first
    assert first.result(f"package:{name}")["changes"] == [{"property": "ensure", "from": "purged", "to": "1.0"}]
    assert dpkg_version(name) == "1.0"
    assert pkg_site.apply().returncode == 0  # idempotent: nothing to do the second time

    pkg_site.manifest(manifest.replace("ENSURE", "latest"))
    upgrade = pkg_site.apply()
    assert upgrade.returncode == 2, upgrade
    assert upgrade.result(f"package:{name}")["changes"] == [{"property": "ensure", "from": "1.0", "to": "2.0"}]
    assert dpkg_version(name) == "2.0"
    assert pkg_site.apply().returncode == 0

    pkg_site.manifest(manifest.replace("ENSURE", '"1.0"'))
    refused = pkg_site.apply()
    assert refused.returncode == 4, refused
    error = refused.result(f"package:{name}")["error"]
    assert f"installing {name} 1.0 would downgrade it from 2.0; set allow_downgrade: true" in error
    assert dpkg_version(name) == "2.0"

    pkg_site.manifest(manifest.replace("ENSURE", '"1.0"\n            allow_downgrade: true'))
    downgraded = pkg_site.apply()
    assert downgraded.returncode == 2, downgraded
    assert dpkg_version(name) == "1.0"
    assert pkg_site.apply().returncode == 0


def test_absent_keeps_config_files_and_purged_removes_them(pkg_site: Site, apt_repo: AptRepo) -> None:
    name = apt_repo.add("conf", "1.0", conffile=True)
    manifest = f"""
        resources:
          - package: {name}
            ensure: ENSURE
    """
    pkg_site.manifest(manifest.replace("ENSURE", "installed"))
    assert pkg_site.apply().returncode == 2
    assert Path(f"/etc/{name}.conf").exists()

    pkg_site.manifest(manifest.replace("ENSURE", "absent"))
    removed = pkg_site.apply()
    assert removed.returncode == 2, removed
    assert removed.result(f"package:{name}")["changes"] == [{"property": "ensure", "from": "1.0", "to": "absent"}]
    assert dpkg_status(name) == "rc " and Path(f"/etc/{name}.conf").exists()
    assert pkg_site.apply().returncode == 0  # config files left: still absent

    pkg_site.manifest(manifest.replace("ENSURE", "purged"))
    purged = pkg_site.apply()
    assert purged.returncode == 2, purged
    assert purged.result(f"package:{name}")["changes"] == [{"property": "ensure", "from": "absent", "to": "purged"}]
    assert dpkg_status(name) == "" and not Path(f"/etc/{name}.conf").exists()
    assert pkg_site.apply().returncode == 0


@needs("strace")
def test_a_list_is_one_apt_transaction_after_one_update(pkg_site: Site, apt_repo: AptRepo, tmp_path: Path) -> None:
    names = [apt_repo.add("base", "1.0"), apt_repo.add("extra", "1.0"), apt_repo.add("app", "1.0", depends="base")]
    pkg_site.manifest(f"""
        resources:
          - package: web-stack
            name: [{", ".join(names)}]
    """)
    log = tmp_path / "strace.log"
    # The lists are empty: apt knows none of them until tend runs apt-get update, once.
    run = pkg_site.apply(prefix=["strace", "-f", "-qq", "-v", "-s", "400", "-e", "trace=execve", "-o", str(log)])
    assert run.returncode == 2, run
    assert all(dpkg_version(n) == "1.0" for n in names)
    assert sorted(c["property"] for c in run.result("package:web-stack")["changes"]) == sorted(names)
    apt_gets = [line for line in log.read_text().splitlines() if re.search(r'execve\("[^"]*/apt-get", .*= 0$', line)]
    verbs = [verb for line in apt_gets for verb in ("update", "install") if f'"{verb}"' in line]
    assert verbs == ["update", "install"], apt_gets
    assert all(f'"{n}"' in next(line for line in apt_gets if '"install"' in line) for n in names)
    assert pkg_site.apply().returncode == 0


def test_unknown_package_is_a_clear_error(pkg_site: Site, apt_repo: AptRepo) -> None:
    known = apt_repo.add("known", "1.0")
    missing = apt_repo.name("nosuch")
    pkg_site.manifest(f"""
        resources:
          - package: {missing}
          - package: {known}
          - file: /nonexistent-dir-of-tend-tests/x
            content: x
            require: package:{missing}
    """)
    run = pkg_site.apply()
    assert run.returncode == 6, run
    assert run.result(f"package:{missing}")["error"] == (
        f"unknown package {missing}: no apt source offers it (after apt-get update)"
    )
    assert run.result("file:/nonexistent-dir-of-tend-tests/x")["status"] == "skipped"
    assert run.result(f"package:{known}")["status"] == "changed"


def test_a_held_package_is_managed_and_stays_held(pkg_site: Site, apt_repo: AptRepo) -> None:
    """Held packages used to be refused; now tend unholds one to change it and holds it again (DESIGN §2)."""
    name = apt_repo.add("held", "1.0")
    apt_repo.add("held", "2.0")
    apt_repo.update()
    subprocess.run(["apt-get", "-q", "-y", *apt_repo.options(), "install", f"{name}=1.0"], check=True,
                   capture_output=True)  # fmt: skip
    hold(name)
    pkg_site.manifest(f"""
        resources:
          - package: {name}
            ensure: latest
    """)
    run = pkg_site.apply()
    assert run.returncode == 2, str(run)
    assert dpkg_version(name) == "2.0" and dpkg_status(name) == "hi "


def test_noop_changes_nothing(pkg_site: Site, apt_repo: AptRepo) -> None:
    name = apt_repo.add("noop", "1.0")
    apt_repo.update()
    pkg_site.manifest(f"""
        resources:
          - package: {name}
    """)
    run = pkg_site.apply(noop=True)
    assert run.returncode == 2 and run.statuses == {f"package:{name}": "would-change"}, run
    assert dpkg_version(name) is None


def test_version_given_as_a_number_is_refused_with_its_line(pkg_site: Site) -> None:
    pkg_site.manifest("""
        resources:
          - package: tendtest-number
            ensure: 1.10
    """)
    run = pkg_site.apply()
    assert run.returncode == 1
    assert 'manifests/site.yaml:3: package:tendtest-number: write the version as a quoted string ("1.1")' in run.stderr


def test_options_from_agent_yaml(site: Site, apt_repo: AptRepo, tmp_path: Path) -> None:
    name = apt_repo.add("conf-yaml", "1.0")
    config = tmp_path / "agent.yaml"
    config.write_text("apt:\n  options:\n" + "".join(f"    - '{o}'\n" for o in apt_repo.options()))
    site.manifest(f"""
        resources:
          - package: {name}
    """)
    site.env = {"TEND_CONFIG": str(config)}
    run = site.apply()
    assert run.returncode == 2, run
    assert dpkg_version(name) == "1.0"


@needs("dpkg", "apt-get")
def test_under_root_dpkg_uses_the_roots_own_database(pkg_site: Site, apt_repo: AptRepo, tmp_path: Path) -> None:
    """An empty directory becomes a root with its own dpkg database; the host's is not touched."""
    name = apt_repo.add("rooted", "1.0", postinst='touch "$DPKG_ROOT/postinst-ran"')
    dependent = apt_repo.add("rooted-app", "1.0", depends="rooted")
    root = tmp_path / "root"
    root.mkdir()
    pkg_site.root = root
    # Our own package's maintainer script runs on the host, inside DPKG_ROOT: the root has no shell.
    pkg_site.env = apt_repo.env("-o", "DPkg::Options::=--force-script-chrootless")
    pkg_site.manifest(f"""
        resources:
          - package: {dependent}
    """)
    first = pkg_site.apply()
    assert first.returncode == 2, first
    assert dpkg_version(dependent, root) == "1.0" and dpkg_version(name, root) == "1.0"
    assert (root / f"usr/share/{name}/version").read_text() == "1.0\n"
    assert (root / "postinst-ran").exists()
    assert dpkg_version(dependent) is None and dpkg_version(name) is None  # not on the host
    second = pkg_site.apply()
    assert second.returncode == 0, second

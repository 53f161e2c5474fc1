"""W11's desired state: a `line` and an `ini` edit in each of N existing files, for tend and cf-agent.

Each host file (`f00000.conf`, ...) holds a umask line and two INI sections; the desired state replaces the
umask line (tend: `line` with `match: "^umask "`, as Puppet's `file_line` with `match`) and sets `timeout` in
section `[service]` (tend: `ini`, as Puppet's `ini_setting`). cf-agent does the same with one `edit_line`
bundle per file (`replace_patterns`, the second within a `select_region` of the section). Puppet's `file_line`
and `ini_setting` come from puppetlabs-stdlib and puppetlabs-inifile, which Debian does not package: puppet is
not measured here. Every other line, comment and the order stay as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.fileset import CF_BACKUP, MANAGED_DIR, write_skeleton

CLASS = "bench_edits"
UMASK, TIMEOUT = "umask 027", "30"
_CF = """\
body common control
{
  bundlesequence => { "main" };
}

bundle agent main
{
  vars:
    "names" slist => { %(names)s };
  files:
    "%(directory)s/$(names)" edit_line => bench_edit;
}

bundle edit_line bench_edit
{
  replace_patterns:
    "^umask (?!027$).*$" replace_with => bench_value("%(umask)s");
    "^timeout = (?!%(timeout)s$).*$"
      select_region => bench_section("service"),
      replace_with => bench_value("timeout = %(timeout)s");
}

body replace_with bench_value(line)
{
  replace_value => "$(line)";
  occurrences => "first";
}

body select_region bench_section(name)
{
  select_start => "^\\[$(name)\\]\\s*$";
  select_end => "^\\[.*\\]\\s*$";
}
"""


def original(name: str) -> str:
    return (
        f"# {name}: written by the tend benchmark\numask 022\n[service]\nname = {name}\ntimeout = 10\n"
        "# longer on slow disks\nretries = 3\n[logging]\nlevel = info\ntimeout = 5\n"
    )


def edited(name: str) -> str:
    return original(name).replace("umask 022", UMASK).replace("timeout = 10", f"timeout = {TIMEOUT}")


@dataclass(frozen=True, slots=True)
class Edits:
    count: int

    @property
    def names(self) -> list[str]:
        return [f"f{n:05d}.conf" for n in range(self.count)]

    def seed(self, managed: Path) -> None:
        managed.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            (managed / name).write_text(original(name))

    def write_tend(self, repo: Path) -> None:
        write_skeleton(repo, f"classes: [{CLASS}]\n")
        body = "".join(
            f"  - line: umask of {name}\n    path: /{MANAGED_DIR}/{name}\n    text: {json.dumps(UMASK)}\n"
            f'    match: "^umask "\n'
            f"  - ini: timeout of {name}\n    path: /{MANAGED_DIR}/{name}\n    section: service\n"
            f'    setting: timeout\n    value: "{TIMEOUT}"\n'
            for name in self.names
        )
        (repo / f"manifests/{CLASS}.yaml").write_text("resources:\n" + body)

    def write_cfengine(self, folder: Path, managed: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        names = ", ".join(f'"{name}"' for name in self.names)
        text = _CF % {"names": names, "directory": managed, "umask": UMASK, "timeout": TIMEOUT}
        (folder / "promises.cf").write_text(text)

    def write_puppet(self, folder: Path, managed: Path) -> None:
        raise NotImplementedError("file_line and ini_setting are not in puppet's core (puppetlabs-stdlib/inifile)")

    def stray(self, managed: Path) -> None:
        raise NotImplementedError("W11 has no purge run")

    def verify(self, managed: Path, what: str) -> None:
        present = {p.name for p in managed.iterdir() if not p.name.endswith(CF_BACKUP)}
        if present != set(self.names):
            raise AssertionError(f"{what}: {managed} holds {len(present)} files, {self.count} expected")
        for name in self.names:
            if (managed / name).read_text() != edited(name):
                raise AssertionError(f"{what}: {managed / name} is not edited as asked")

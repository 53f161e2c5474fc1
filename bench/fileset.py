"""The managed files of W1 and W2, and the same desired state written for tend, cf-agent and puppet.

N distinct files of ~200 bytes (`f00000.conf`, ...) in one directory, mode 0644. Each is what one template makes
of a per-file variable (a ~120-character token); W1 gives every file's content literally, W2 gives the template
and the variable, so both converge to the very same bytes. `python -m bench.fileset DIR [--count N]` writes the
tend repositories and the peers' policies to look at.

Every tool manages ROOT/srv/bench: tend through `--root ROOT` and the path /srv/bench, cf-agent and puppet
(which have no such option) through the absolute path.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path

MANAGED_DIR = "srv/bench"
MODE = "0644"
CLASS = "bench_files"
HOST = "bench1"
CF_BACKUP = ".cf-before-edit"  # cf-agent's backup of an edited file, next to it (tend and puppet keep theirs apart)
_WORDS = (
    "amber", "basalt", "cedar", "delta", "ember", "fjord", "granite", "harbor", "iris", "juniper", "kestrel",
    "lagoon", "meadow", "nimbus", "opal", "prairie", "quartz", "raven", "sierra", "tundra", "umber", "valley",
    "willow", "xenon", "yarrow", "zephyr",
)  # fmt: skip

# One template, in each tool's language; it renders to the same bytes as `content_of`.
JINJA = (
    "# {{ item.name }}: managed by the tend benchmark\n[service]\nname = {{ item.name }}\ntoken = {{ item.token }}\n"
)
MUSTACHE = "# {{{name}}}: managed by the tend benchmark\n[service]\nname = {{{name}}}\ntoken = {{{token}}}\n"
EPP = (
    "<%- | String $file, String $token | -%>\n"
    "# <%= $file %>: managed by the tend benchmark\n[service]\nname = <%= $file %>\ntoken = <%= $token %>\n"
)
HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: Common
    path: common.yaml
"""


@dataclass(frozen=True, slots=True)
class ManagedFile:
    name: str
    token: str

    @property
    def content(self) -> str:
        return f"# {self.name}: managed by the tend benchmark\n[service]\nname = {self.name}\ntoken = {self.token}\n"


def make_files(count: int, seed: int = 0) -> list[ManagedFile]:
    """`count` distinct files, the same for the same seed. Tokens hold letters, digits, '-' and '.' only, which
    need no quoting in any of the three languages."""
    rng = random.Random(seed)
    files = []
    for number in range(count):
        words = "-".join(rng.choice(_WORDS) for _ in range(14))
        token = f"{number:05d}.{words}"[:118].rstrip("-")
        files.append(ManagedFile(f"f{number:05d}.conf", token))
    return files


def expected(files: list[ManagedFile]) -> dict[str, bytes]:
    return {f.name: f.content.encode() for f in files}


def verify(directory: Path, files: list[ManagedFile], what: str) -> None:
    """Raise unless `directory` holds exactly these files with their content and mode (the work was done).
    cf-agent's backups next to them are left out."""
    wanted = expected(files)
    present = {p.name for p in directory.iterdir() if not p.name.endswith(CF_BACKUP)} if directory.is_dir() else set()
    if present != set(wanted):
        raise AssertionError(f"{what}: {directory} holds {len(present)} files, {len(wanted)} expected")
    for name, data in wanted.items():
        path = directory / name
        if path.read_bytes() != data or (path.stat().st_mode & 0o7777) != int(MODE, 8):
            raise AssertionError(f"{what}: {path} has the wrong content or mode")


def edit_by_hand(directory: Path, files: list[ManagedFile], share: float = 0.1) -> int:
    """Drift: overwrite every 1/share-th file (10% of them) as an operator's editor would; returns how many."""
    step = round(1 / share)
    edited = 0
    for number, f in enumerate(files):
        if number % step == 0:
            (directory / f.name).write_text(f"# edited by hand\n{f.content}")
            edited += 1
    return edited


# tend -------------------------------------------------------------------------------------------------------


def write_skeleton(repo: Path, common: str) -> None:
    """What every single-host bench repository has: hiera.yaml, host `bench1` in the inventory (role `bench`),
    and data/common.yaml holding `common`; manifests/ is made empty."""
    for folder in ("data", "manifests", "keys"):
        (repo / folder).mkdir(parents=True, exist_ok=True)
    (repo / "hiera.yaml").write_text(HIERA)
    (repo / "keys/inventory.yaml").write_text(f"hosts:\n  {HOST}: {{role: bench}}\nadmins: []\n")
    (repo / "data/common.yaml").write_text(common)


def write_tend_repo(repo: Path, files: list[ManagedFile] | None, *, template: bool = False) -> None:
    """A control repository for host `bench1`: the files literally (W1), from the template (W2), or, with
    `files=None`, no class at all (the empty run)."""
    (repo / "data").mkdir(parents=True, exist_ok=True)
    (repo / "manifests").mkdir(exist_ok=True)
    (repo / "keys").mkdir(exist_ok=True)
    (repo / "hiera.yaml").write_text(HIERA)
    (repo / "keys/inventory.yaml").write_text(f"hosts:\n  {HOST}: {{role: bench, environment: prod}}\nadmins: []\n")
    if files is None:
        (repo / "data/common.yaml").write_text("# no classes: the empty catalog\nbench::unused: 1\n")
        return
    head = f'resources:\n  - file: /{MANAGED_DIR}\n    ensure: directory\n    mode: "0755"\n'
    if not template:
        (repo / "data/common.yaml").write_text(f"classes: [{CLASS}]\n")
        body = "".join(
            f'  - file: /{MANAGED_DIR}/{f.name}\n    content: {json.dumps(f.content)}\n    mode: "{MODE}"\n'
            for f in files
        )
        (repo / f"manifests/{CLASS}.yaml").write_text(head + body)
        return
    data = "".join(f"  - {{name: {f.name}, token: {f.token}}}\n" for f in files)
    (repo / "data/common.yaml").write_text(f"classes: [{CLASS}]\n{CLASS}::files:\n{data}")
    (repo / "templates/bench").mkdir(parents=True, exist_ok=True)
    (repo / "templates/bench/file.conf.j2").write_text(JINJA)
    loop = (
        f'  - file: "/{MANAGED_DIR}/{{{{ item.name }}}}"\n    loop: "{{{{ files }}}}"\n'
        f'    template: bench/file.conf.j2\n    mode: "{MODE}"\n'
    )
    (repo / f"manifests/{CLASS}.yaml").write_text("parameters:\n  files: []\n" + head + loop)


# cf-agent ---------------------------------------------------------------------------------------------------

_CF_HEAD = """\
body common control
{
  bundlesequence => { "main" };
}

body perms m(mode)
{
  mode => "$(mode)";
  rxdirs => "false";
}

"""


def write_cfengine(folder: Path, root: Path, files: list[ManagedFile] | None, *, template: bool = False) -> Path:
    """A standalone policy (`cf-agent -K -f ./promises.cf`) with the same desired state; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    directory = root / MANAGED_DIR
    lines = [_CF_HEAD, "bundle agent main\n{\n"]
    if files is not None and not template:
        lines.append("  files:\n")
        lines.append(f'    "{directory}/." create => "true", perms => m("0755");\n')
        lines.extend(
            f'    "{directory}/{f.name}"\n      create => "true", perms => m("{MODE}"),\n'
            f'      content => "{f.content}";\n'
            for f in files
        )
    elif files is not None:
        (folder / "files.json").write_text(json.dumps({f.name: {"name": f.name, "token": f.token} for f in files}))
        (folder / "file.conf.mustache").write_text(MUSTACHE)
        lines.append(
            "  vars:\n"
            '    "files" data => readjson("$(this.promise_dirname)/files.json", 100M);\n'
            '    "names" slist => getindices("files");\n'
            "  files:\n"
            f'    "{directory}/." create => "true", perms => m("0755");\n'
            f'    "{directory}/$(names)"\n'
            f'      create => "true", perms => m("{MODE}"),\n'
            '      template_method => "mustache",\n'
            '      edit_template => "$(this.promise_dirname)/file.conf.mustache",\n'
            '      template_data => mergedata("files[$(names)]");\n'
        )
    lines.append("}\n")
    policy = folder / "promises.cf"
    policy.write_text("".join(lines))
    return policy


# puppet -----------------------------------------------------------------------------------------------------


def write_puppet(folder: Path, root: Path, files: list[ManagedFile] | None, *, template: bool = False) -> Path:
    """A manifest for `puppet apply` (file resources; W2 through an EPP template of module `bench`)."""
    folder.mkdir(parents=True, exist_ok=True)
    directory = root / MANAGED_DIR
    if files is None:
        text = "# the empty catalog\n"
    elif not template:
        text = f"file {{ '{directory}': ensure => directory, mode => '0755' }}\n" + "".join(
            f"file {{ '{directory}/{f.name}':\n  ensure => file, mode => '{MODE}',\n"
            f"  content => {json.dumps(f.content)},\n}}\n"
            for f in files
        )
    else:
        templates = folder / "modules/bench/templates"
        templates.mkdir(parents=True, exist_ok=True)
        (templates / "file.conf.epp").write_text(EPP)
        table = "".join(f"  '{f.name}' => '{f.token}',\n" for f in files)
        text = (
            f"$files = {{\n{table}}}\n"
            f"file {{ '{directory}': ensure => directory, mode => '0755' }}\n"
            "$files.each |$file, $token| {\n"
            f"  file {{ \"{directory}/${{file}}\":\n    ensure => file, mode => '{MODE}',\n"
            "    content => epp('bench/file.conf.epp', { 'file' => $file, 'token' => $token }),\n  }\n}\n"
        )
    manifest = folder / "site.pp"
    manifest.write_text(text)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fileset", description="Write W1/W2's repos and policies.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = make_files(args.count, args.seed)
    root = args.folder.absolute() / "root"
    for name, template in (("literal", False), ("template", True)):
        write_tend_repo(args.folder / f"tend-{name}", files, template=template)
        write_cfengine(args.folder / f"cfengine-{name}", root, files, template=template)
        write_puppet(args.folder / f"puppet-{name}", root, files, template=template)
    print(f"wrote {args.folder}: tend-*, cfengine-*, puppet-* for {args.count} files under {root / MANAGED_DIR}")


if __name__ == "__main__":
    main()

"""W12's desired state: a directory copied from a source of N files (~200 bytes, in 10 subdirectories), strays
purged, for tend, cf-agent and puppet.

tend: `file: /srv/bench` with `source: tree` (the repository's files/tree) and `purge: true`; cf-agent: a
`copy_from` of the local source folder with `purge => "true"`, `compare => "digest"` (a content comparison, as
tend and puppet make), `depth_search` and mode 0644 (its own default is 0600; `rxdirs` makes directories
0755); puppet: a `file` with `source`, `recurse => true`, `purge => true`.
A stray is a file no source holds, left by hand in the managed directory and its subdirectories.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.fileset import CF_BACKUP, MANAGED_DIR, make_files, write_skeleton

CLASS = "bench_tree"
SUBDIRECTORIES = 10
STRAYS = 0.1  # share of the source's count left as strays before a purge run
_CF = """\
body common control
{
  bundlesequence => { "main" };
}

bundle agent main
{
  files:
    "%(directory)s/."
      create => "true",
      copy_from => bench_copy("%(source)s"),
      perms => bench_mode,
      depth_search => bench_recurse;
}

body perms bench_mode
{
  mode => "0644";
  rxdirs => "true";
}

body copy_from bench_copy(from)
{
  source => "$(from)";
  compare => "digest";
  purge => "true";
}

body depth_search bench_recurse
{
  depth => "inf";
}
"""


@dataclass(frozen=True, slots=True)
class Tree:
    count: int
    source: Path  # the source folder cf-agent and puppet copy (tend's is its repository's files/tree)
    seed_value: int = 0

    def entries(self) -> dict[str, bytes]:
        """Relative path: content."""
        return {
            f"d{n % SUBDIRECTORIES:02d}/{f.name}": f.content.encode()
            for n, f in enumerate(make_files(self.count, self.seed_value))
        }

    def write_source(self, folder: Path) -> None:
        for relative, data in self.entries().items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o644)

    def seed(self, managed: Path) -> None:
        """A new host has no managed directory."""

    def write_tend(self, repo: Path) -> None:
        write_skeleton(repo, f"classes: [{CLASS}]\n")
        self.write_source(repo / "files/tree")
        resource = f"  - file: /{MANAGED_DIR}\n    source: tree\n    purge: true\n"
        (repo / f"manifests/{CLASS}.yaml").write_text("resources:\n" + resource)

    def write_cfengine(self, folder: Path, managed: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._source()
        (folder / "promises.cf").write_text(_CF % {"directory": managed, "source": self.source})

    def write_puppet(self, folder: Path, managed: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._source()
        (folder / "site.pp").write_text(
            f"file {{ '{managed}':\n  ensure => directory, source => '{self.source}', recurse => true,\n"
            "  purge => true, force => true,\n}\n"
        )

    def _source(self) -> None:
        if not self.source.is_dir():
            self.write_source(self.source)

    def stray(self, managed: Path) -> None:
        for n in range(max(1, int(self.count * STRAYS))):
            (managed / f"d{n % SUBDIRECTORIES:02d}/stray-{n:04d}.tmp").write_text("left by hand\n")

    def verify(self, managed: Path, what: str) -> None:
        wanted = self.entries()
        found = {
            str(p.relative_to(managed)): p for p in managed.rglob("*") if p.is_file() and not p.name.endswith(CF_BACKUP)
        }
        if set(found) != set(wanted):
            extra, missing = len(set(found) - set(wanted)), len(set(wanted) - set(found))
            raise AssertionError(f"{what}: {managed}: {extra} files too many, {missing} missing")
        for relative, data in wanted.items():
            path = found[relative]
            if path.read_bytes() != data or (path.stat().st_mode & 0o777) != 0o644:
                raise AssertionError(f"{what}: {path} has the wrong content or mode")

"""Hostile input: arbitrary manifests, interpolations and ENC values never crash with a traceback; they are
accepted or refused with a TendError naming the file and line. Paths that climb or link out of --root
cannot make tend write outside it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from agent.catalog.compile import Compiler
from agent.data.dotted_keys import MISSING
from agent.data.interpolate import Interpolator
from agent.errors import HostError, TendError
from agent.location import Location
from agent.manifest.loader import ManifestLoader
from agent.resources import TYPES
from agent.secrets.enc import parse_enc
from agent.secrets.packets import recipient_key_ids
from agent.system.paths import Root
from tests.faults.conftest import FULL, HIERA, Site, gpg, scaled, write_tree

EXAMPLES = settings(
    max_examples=scaled(100, 3000),
    deadline=None,
    derandomize=not FULL,  # quick mode: the same examples on every CI run; full mode: new ones each time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MANIFEST = "manifests/site.yaml"
FILE = re.compile(r"^manifests/site\.yaml(:\d+)?: ")
LINE = re.compile(r"^manifests/site\.yaml:\d+: ")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repository for every example (each writes its own manifest, with a fresh loader)."""
    base = tmp_path_factory.mktemp("hostile")
    write_tree(base, {"hiera.yaml": HIERA, "data/common.yaml": "classes: [site]\n", "templates/t.j2": "{{ x }}\n"})
    (base / "manifests").mkdir()
    return base


def alias_cycle(text: str | bytes) -> bool:
    """Whether the YAML holds an anchor used inside itself (`a: &x [*x]`)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except Exception:
        return False
    stack: list[int] = []

    def walk(node: Any) -> bool:
        if id(node) in stack:
            return True
        stack.append(id(node))
        children = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        found = any(walk(child) for child in children)
        stack.pop()
        return found

    return root is not None and walk(root)


@pytest.fixture(scope="module")
def data_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("data")
    write_tree(base, {"hiera.yaml": HIERA, "data/common.yaml": ""})
    return base


def load(repo: Path, text: str | bytes, where: re.Pattern[str] = FILE) -> Any:
    """Load `text` as manifests/site.yaml: a class, or a TendError whose text starts as `where` says."""
    assume(not alias_cycle(text))
    path = repo / MANIFEST
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        return ManifestLoader(repo, tuple(TYPES)).load("site")
    except TendError as error:
        assert where.match(str(error)), f"not {where.pattern} in {str(error)!r}"
        return error


# --- the manifest loader --------------------------------------------------------------------------------------

YAML_BITS = st.sampled_from(
    ["resources:", "parameters:", "include:", "checks:", "- file: /etc/x", "  - exec: x", "    content: a",
     "  mode: 0644", "- ", ": ", "{", "}", "[", "]", "&a", "*a", "<<: *a", "!!python/object:os.system", "\t", "  ",
     "'", '"', "#", "---", "...", "%YAML 1.1", "? ", "|", ">", "\\x00", "\n", "~", "null", "- [", "!!binary |",
     "\ufeff", "\u2028", "- file:\n    - a"]
)  # fmt: skip


@EXAMPLES
@given(pieces=st.lists(st.one_of(YAML_BITS, st.text(max_size=8)), max_size=25))
@example(pieces=["!!python/object/apply:os.system ['touch /tmp/tf-pwned']"])
@example(pieces=["resources:\n  - file: /x\n    file: /y"])
def test_the_manifest_loader_on_yaml_fragments(repo: Path, pieces: list[str]) -> None:
    load(repo, "\n".join(pieces))


@EXAMPLES
@given(data=st.binary(max_size=200))
def test_the_manifest_loader_on_bytes(repo: Path, data: bytes) -> None:
    load(repo, data)


@EXAMPLES
@given(pieces=st.lists(st.one_of(YAML_BITS, st.text(max_size=8)), max_size=25))
@example(pieces=["? "])
@example(pieces=["resources:", "  - file: /etc/a", "    content: \x1f"])
def test_every_refusal_of_a_manifest_names_its_line(repo: Path, pieces: list[str]) -> None:
    load(repo, "\n".join(pieces), where=LINE)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["content", "mode", "ensure", "owner", "notify", "require", "loop", "when", "command", "path",
                     "template", "source", "refreshonly", "tags", "target", "bogus", "timeout", "returns"]),
    st.one_of(VALUES, st.sampled_from(["{{ item }}", "{{ nope }}", "{{ facts.x }}", "0644", "file:/etc/a",
                                       "exec:x", ["/bin/true"], "{{ [1, 2] }}", "{% if %}", "{{ 1/0 }}"])),
    max_size=4,
)  # fmt: skip
RESOURCE = st.builds(
    lambda kind, title, attributes: {kind: title, **attributes},
    st.sampled_from(["file", "exec", "package", "service", "user", "group", "nope"]),
    st.one_of(st.sampled_from(["/etc/a", "/etc/b", "x", "/etc/{{ item }}", "/etc/../x", ""]), VALUES),
    ATTRIBUTES,
)
CLASS = st.fixed_dictionaries(
    {},
    optional={
        "parameters": st.dictionaries(st.sampled_from(["x", "y", "1"]), VALUES, max_size=2) | VALUES,
        "include": st.lists(st.sampled_from(["site", "other", "BAD NAME"]), max_size=2) | VALUES,
        "resources": st.lists(RESOURCE, max_size=4) | VALUES,
        "checks": st.lists(st.dictionaries(st.sampled_from(["tcp", "http", "bogus"]), VALUES, max_size=2),
                           max_size=2),
    },
)  # fmt: skip


@EXAMPLES
@given(manifest=CLASS)
def test_the_manifest_loader_on_structured_manifests(repo: Path, manifest: dict) -> None:
    load(repo, yaml.safe_dump(manifest, allow_unicode=True), where=LINE)


@EXAMPLES
@given(manifest=CLASS)
def test_the_compiler_on_structured_manifests(repo: Path, manifest: dict) -> None:
    """The whole compile (render, validate, relate, order): a TendError pointing at the manifest, or a catalog."""
    (repo / MANIFEST).write_text(yaml.safe_dump(manifest, allow_unicode=True))
    (repo / "manifests/other.yaml").write_text("resources: []\n")
    try:
        Compiler(repo).compile({"hostname": "web1", "x": 1}, "web1")
    except TendError as error:
        text = str(error)
        assert re.match(r"^(manifests/(site|other)\.yaml|templates/t\.j2):\d+: ", text) or re.match(
            r"^data/common\.yaml:\d+: ", text
        ), f"no file:line in {text!r}"


# --- Hiera interpolation ---------------------------------------------------------------------------------------

EXPRESSIONS = st.sampled_from(
    ["%{", "}", "%{}", "%{facts.role}", "%{facts.nope}", "%{role}", "%{::role}", "%{nope}", "%{lookup('a')}",
     "%{lookup('b')}", "%{lookup('loop')}", "%{alias('a')}", "%{alias('list')}", "%{literal('%')}", "%{hiera(\"a\")}",
     "%{scope('role')}", "%{what('a')}", "%{lookup(a)}", "%{facts.'x.y'}", "%{facts.list.1}", "%{facts.list.9}",
     "%{facts..}", "%{.}", "%{'}", "%{facts.role.deeper}", "%{lookup('secret')}", "%{alias('secret')}", "%%{", "%"]
)  # fmt: skip
DATA = {"a": "A", "b": "%{lookup('a')}-%{facts.role}", "loop": "%{lookup('loop')}", "list": [1, "two"],
        "secret": None}  # fmt: skip


@EXAMPLES
@given(pieces=st.lists(st.one_of(EXPRESSIONS, st.text(alphabet=string.printable, max_size=6)), max_size=8),
       nested=st.booleans())  # fmt: skip
def test_the_interpolator(pieces: list[str], nested: bool) -> None:
    from agent.data.encrypted import EncryptedValue

    secret = EncryptedValue("ENC[GPG,AAAA]", Location("data/common.yaml", 3), "secret")

    def lookup(key: str) -> Any:
        if key == "secret":
            return secret
        return interpolator.interpolate(DATA[key]) if key in DATA else MISSING

    scope = {"facts": {"role": "web", "x.y": "dotted", "list": ["zero", "one"]}, "role": "web"}
    interpolator = Interpolator(scope, lookup)
    value: Any = "".join(pieces)
    if nested:  # a hash key that is an alias: see test_an_alias_as_a_hash_key_is_refused
        value = {value.replace("alias(", "lookup("): [value, {"k": value}]}
    with contextlib.suppress(TendError):
        interpolator.interpolate(value)


KEYS = st.sampled_from(["a", "b", "loop", "list", "h", "x::y", "lookup_options"])


@EXAMPLES
@given(data=st.dictionaries(KEYS, st.one_of(st.lists(EXPRESSIONS, max_size=3).map("".join), VALUES,
                                            st.dictionaries(st.sampled_from(["k", "%{facts.role}"]),
                                                            st.lists(EXPRESSIONS, max_size=2).map("".join))),
                            max_size=5))  # fmt: skip
def test_lookups_of_hostile_data_name_the_file_and_line(data_repo: Path, data: dict) -> None:
    """Hiera end to end: data/common.yaml with interpolations, looked up key by key."""
    from agent.data.hiera import Hiera
    from agent.errors import NotFound

    text = yaml.safe_dump(data, allow_unicode=True)
    (data_repo / "data/common.yaml").write_text(text)
    context = Hiera(data_repo).context({"hostname": "web1", "role": "web", "list": ["zero"]})
    for key in data:
        try:
            context.lookup_value(key)
        except NotFound:
            continue
        except TendError as error:
            assert re.match(r"^data/common\.yaml:\d+: ", str(error)), f"no file:line in {str(error)!r}"


# --- ENC values and OpenPGP packets ----------------------------------------------------------------------------

AT = Location("data/common.yaml", 7)
VALUE_WHERE = re.compile(r"^data/common\.yaml:7: db::password: ")


def refused_well(error: TendError) -> None:
    assert VALUE_WHERE.match(str(error)), f"no file:line and key in {str(error)!r}"


@pytest.fixture(scope="module")
def message(host_keys) -> bytes:
    """A real message for web1, whose mutations the packet reader must survive."""
    key = host_keys["web1"]
    return gpg(key.home, "--trust-model", "always", "--encrypt", "--recipient", key.fingerprint, input=b"pw")


@EXAMPLES
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.builds(lambda s: "ENC[" + s, st.text(max_size=60)),
        st.builds(lambda s: "ENC[GPG," + s + "]", st.text(alphabet=string.printable, max_size=60)),
    )
)
def test_parse_enc(text: str) -> None:
    try:
        parse_enc(text, location=AT, subject="db::password")
    except TendError as error:
        refused_well(error)
        payload = "".join(text.split())[len("ENC[GPG,") :].rstrip("]")
        assert len(payload) < 8 or payload not in str(error), "the value is echoed in the error"


def mutate(message: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    data = bytearray(message)
    for position, byte in edits:
        data[position % len(data)] = byte
    return bytes(data[:cut] if cut is not None else data)


@EXAMPLES
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
       cut=st.none() | st.integers(0, 400), prefix=st.binary(max_size=6))  # fmt: skip
def test_recipient_key_ids_on_mutated_messages(message: bytes, edits, cut, prefix: bytes) -> None:
    data = prefix + mutate(message, edits, cut)
    try:
        ids = recipient_key_ids(data, location=AT, subject="db::password")
    except TendError as error:
        refused_well(error)
        return
    assert all(re.fullmatch(r"[0-9A-F]{16}", key_id) for key_id in ids)
    # What parses as a message also goes through parse_enc unchanged.
    assert parse_enc(f"ENC[GPG,{base64.b64encode(data).decode()}]") == data


@EXAMPLES
@given(data=st.binary(max_size=300))
def test_recipient_key_ids_on_bytes(data: bytes) -> None:
    try:
        recipient_key_ids(data, location=AT, subject="db::password")
    except TendError as error:
        refused_well(error)


# --- paths under --root ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jail(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A root whose links all point out of it (absolute, relative, to /, looping), and a folder outside it."""
    base = tmp_path_factory.mktemp("jail")
    root, outside = base / "root", base / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir()
    links = {"etc/abs": str(outside), "etc/rel": "../../outside", "etc/up": "../../../../../../..", "slash": "/",
             "etc/loop": "loop", "etc/file-abs": str(outside / "victim"), "etc/dotdot": ".."}  # fmt: skip
    for name, target in links.items():
        os.symlink(target, root / name)
    return root, outside


SEGMENTS = st.sampled_from(["..", ".", "", "etc", "abs", "rel", "up", "slash", "loop", "file-abs", "dotdot",
                            "outside", "victim", "tmp", str(Path(tempfile.gettempdir()).name)])  # fmt: skip


@EXAMPLES
@given(segments=st.lists(SEGMENTS, min_size=1, max_size=8), follow=st.booleans())
@example(segments=["etc", "abs", "x"], follow=False)
@example(segments=["etc", "rel", "x"], follow=False)
@example(segments=["etc", "up", "etc", "passwd"], follow=False)
@example(segments=["etc", "file-abs"], follow=True)
def test_a_managed_path_always_resolves_inside_the_root(jail: tuple[Path, Path], segments, follow: bool) -> None:
    root, _ = jail
    managed = "/" + "/".join(segments)
    try:
        resolved = Root(root).resolve(managed, follow=follow)
    except HostError:
        return
    assert resolved == root.resolve() or resolved.is_relative_to(root.resolve()), f"{managed} -> {resolved}"


def escape_site(site: Site, outside: Path) -> None:
    """Links out of the root, and a repository whose template and source links point out of it too."""
    root = site.root
    assert root is not None
    os.symlink(str(outside), root / "etc/abs")
    os.symlink("../../../../../../../../../" + str(outside).lstrip("/"), root / "etc/rel")
    os.symlink(str(outside / "victim"), root / "etc/motd")
    os.symlink(str(outside / "secret"), site.repo / "leak.j2")
    (site.repo / "files").mkdir()
    os.symlink(str(outside / "secret"), site.repo / "files/leak")
    (outside / "victim").write_text("outside, untouched\n")
    (outside / "secret").write_text("a secret outside the repository\n")


def outside_tree(outside: Path) -> dict[str, str]:
    return {str(p.relative_to(outside)): p.read_text() for p in sorted(outside.rglob("*")) if p.is_file()}


def test_links_out_of_the_root_are_followed_inside_it(site: Site, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    escape_site(site, outside)
    before = outside_tree(outside)
    site.manifest(
        """
        resources:
          - file: /etc/abs/through-absolute
            content: "x\\n"
          - file: /etc/rel/through-relative
            content: "x\\n"
          - file: /etc/motd
            content: "the link itself is replaced\\n"
          - file: /etc/abs/victim
            ensure: absent
          - file: /etc/abs/made
            ensure: directory
        """
    )
    inside = site.root / str(outside).lstrip("/")  # where both links lead, seen from inside the root
    inside.mkdir(parents=True)
    run = site.apply()
    assert outside_tree(outside) == before, "tend wrote outside the root"
    assert run.returncode == 2, run
    assert (inside / "through-absolute").read_text() == "x\n"
    assert (inside / "through-relative").read_text() == "x\n"
    assert (inside / "made").is_dir()
    assert site.path("/etc/motd").read_text() == "the link itself is replaced\n"
    assert not site.path("/etc/motd").is_symlink()


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("template", "../leak.j2"),
        ("template", "/etc/passwd"),
        ("template", "../../leak.j2"),
        ("source", "leak"),  # a link inside files/ pointing out of the repository
        ("source", "../leak.j2"),
        ("source", "/etc/hostname"),
        ("path", "/etc/../../escape"),
        ("path", "etc/relative"),
    ],
)
def test_templates_sources_and_titles_cannot_reach_out(site: Site, tmp_path: Path, attribute: str, value: str):
    outside = tmp_path / "outside"
    outside.mkdir()
    escape_site(site, outside)
    before = outside_tree(outside)
    site.manifest(f"resources:\n  - file: /etc/out\n    {attribute}: {value!r}\n")
    run = site.apply()
    assert run.returncode == 1, run
    error = run.report["error"] if run.report else run.stderr
    assert re.match(r"^manifests/site\.yaml:\d+: ", error), error
    assert "a secret outside" not in run.stdout + run.stderr
    assert not site.path("/etc/out").exists()
    assert outside_tree(outside) == before
    assert not (tmp_path / "escape").exists()


# --- what the properties found -----------------------------------------------------------------------------------


def cli_site(site: Site, data: str, manifest: str = "resources: []\n") -> None:
    site.write({"data/common.yaml": "classes: [site]\n" + data, MANIFEST: manifest})


@pytest.mark.parametrize(
    ("data", "manifest", "command"),
    [
        pytest.param("", "parameters:\n  x: &a [*a]\nresources: []\n", "apply", id="manifest"),
        pytest.param("loop: &a [*a]\n", "resources: []\n", "lookup", id="data"),
    ],
)
def test_a_recursive_alias_is_refused_with_its_line(site: Site, data: str, manifest: str, command: str) -> None:
    cli_site(site, data, manifest)
    if command == "apply":
        run = site.apply()
        output = run.stderr + (run.report or {}).get("error", "")
    else:
        done = site_lookup(site, "loop")
        run, output = done, done.stderr
    assert run.returncode == 1, run
    assert "Traceback" not in output and "RecursionError" not in output
    assert re.search(r"(manifests/site|data/common)\.yaml:\d+: ", output), output


def test_an_alias_as_a_hash_key_is_refused(site: Site) -> None:
    cli_site(site, "list: [1, 2]\nh:\n  \"%{alias('list')}\": 1\n")
    done = site_lookup(site, "h")
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    assert re.search(r"data/common\.yaml:\d+: ", done.stderr), done.stderr


@pytest.mark.parametrize("bad", [b"\x1f", b"\x80"], ids=["control-character", "not-utf8"])
def test_an_unreadable_character_is_reported_with_its_line(site: Site, bad: bytes) -> None:
    site.write(
        {"data/common.yaml": "classes: [site]\n", MANIFEST: b"resources:\n  - file: /etc/a\n    content: " + bad}
    )
    run = site.apply()
    assert run.returncode == 1, run
    assert "Traceback" not in run.stderr
    error = run.report["error"] if run.report else run.stderr
    assert error.startswith("manifests/site.yaml:3: "), error


def site_lookup(site: Site, key: str):
    import subprocess
    import sys

    from tests.conftest import PROJECT
    from tests.faults.conftest import Run, tend_env

    done = subprocess.run([sys.executable, "-m", "agent", "lookup", key, "--repo", str(site.repo)], cwd=PROJECT,
                          env=tend_env(), capture_output=True, text=True, timeout=60)  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr, None)


# --- bombs in the data: deep lookup chains and doubling strings (issue 20, item 13) -----------------------


def chain(depth: int) -> str:
    links = "".join(f"k{n}: \"%{{lookup('k{n + 1}')}}\"\n" for n in range(depth))
    return links + f"k{depth}: end\n"


def doubling(levels: int) -> str:
    steps = "".join(f"d{n + 1}: \"%{{lookup('d{n}')}}%{{lookup('d{n}')}}\"\n" for n in range(levels))
    return "d0: " + "x" * 64 + "\n" + steps


@pytest.mark.parametrize(
    ("data", "said"),
    [
        pytest.param(chain(3000), "nested deeper than", id="3000-deep-chain"),
        pytest.param(doubling(30), "over the limit of", id="doubling"),
    ],
)
def test_data_bombs_are_one_line_errors_in_bounded_time_and_memory(site: Site, data: str, said: str) -> None:
    cli_site(site, data)
    done = site_lookup(site, "k0" if data.startswith("k0") else "d30")
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr and "Error:" not in done.stderr.replace("tend:", "")
    assert said in done.stderr, done.stderr
    assert re.search(r"data/common\.yaml:\d+: ", done.stderr), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_chain_within_the_depth_limit_still_resolves(site: Site) -> None:
    from agent.data.interpolate import MAX_DEPTH

    cli_site(site, chain(MAX_DEPTH - 2))
    done = site_lookup(site, "k0")
    assert done.returncode == 0, done
    assert done.stdout.strip().endswith("end")


# --- hostile YAML and hostile templates, fuzzed (issue 20, item 13) ------------------------------------------


def laughs(depth: int, width: int) -> str:
    """The "billion laughs": each anchor a list of `width` aliases of the one before."""
    lines = ["l0: &l0 [lol]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


HOSTILE_YAML = st.one_of(
    st.builds(laughs, st.integers(1, 12), st.integers(1, 12)),
    st.integers(1, 20000).map(lambda digits: f"n: {'9' * digits}\n"),
    st.integers(1, 3000).map(lambda depth: "x: " + "[" * depth + "]" * depth + "\n"),
    st.integers(1, 3000).map(lambda depth: "x:\n" + "".join(f"{' ' * (n + 1)}k{n}:\n" for n in range(depth))),
    st.lists(st.sampled_from(["&a", "*a", "<<: *a", "!!binary", "!!python/name:os.system", "!!float", "? ", "[", "{",
                              "- ", ": ", "\n", "&b [*a, *a]", "*b", "!!set", "!!omap", "1e999", "0x" + "f" * 40]),
             max_size=30).map(" ".join),
)  # fmt: skip


@EXAMPLES
@given(text=HOSTILE_YAML)
@example(text=laughs(12, 12))
@example(text="n: " + "9" * 5000 + "\n")
@example(text="!!float")
def test_the_yaml_reader_on_hostile_documents(text: str) -> None:
    """Alias bombs, huge integers, deep nesting, odd tags: a value or a TendError naming the file, never a hang."""
    from agent.errors import DataError
    from agent.formats.reader import read_yaml

    try:
        document = read_yaml(text, "data/common.yaml", error=DataError)
    except TendError as error:
        assert str(error).startswith("data/common.yaml"), str(error)
        return
    assert len(repr(document.value)) < 16 * 1024 * 1024


TEMPLATE_BITS = st.sampled_from(
    ["{{ 'x' * 99999999 }}", "{{ 'ab' ~ x }}", "{% for i in range(99999) %}{% for j in range(99999) %}.{% endfor %}"
     "{% endfor %}", "{{ 9 ** 99999 }}", "{{ '%s' % x }}", "{{ x|center(999999999) }}", "{{ [x] * 99999999 }}",
     "{{ range(10)|list }}", "{% set s = 'ab' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s }}",
     "{{ x.__class__ }}", "{{ lipsum(99999) }}", "{{ '{:>999999999}'.format(x) }}", "{{ x|indent(999999999) }}",
     "{{ 10**10**10 }}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{{ x|wordwrap(1) }}", "{{ x }}",
     "{{", "{%", "}}", "{{ 1/0 }}", "{{ (x ~ x) * 999999 }}", "{{ ((x * 99999) ~ x) * 9999 }}", "plain"]
)  # fmt: skip


@EXAMPLES
@given(pieces=st.lists(TEMPLATE_BITS, min_size=1, max_size=4))
@example(pieces=["{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"])
@example(pieces=["{{ 10**10**10 }}"])
def test_the_compiler_on_hostile_templates(repo: Path, pieces: list[str]) -> None:
    """Template bombs and escapes: a catalog within the size limit, or a TendError naming the template's line."""
    (repo / "templates/t.j2").write_text("".join(pieces))
    (repo / MANIFEST).write_text("resources:\n  - file: /etc/x\n    template: t.j2\n")
    try:
        catalog, _ = Compiler(repo).compile({"hostname": "web1", "x": "ab"}, "web1")
    except TendError as error:
        assert re.match(r"^(templates/t\.j2|manifests/site\.yaml):\d+: ", str(error)), str(error)
        return
    from agent.catalog.sandbox import MAX_RENDERED

    assert len(catalog.resources["file:/etc/x"].values["content"]) <= MAX_RENDERED

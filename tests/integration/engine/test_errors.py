"""Errors in the control repo stop the run before any change (exit 1) and name the manifest file and line."""

from __future__ import annotations

import pytest

from tests.integration.engine.conftest import Site, tree_digest

# Line 1-2 of every manifest: a valid resource that would be written if the run went ahead.
FIRST = "resources:\n  - file: /etc/first.conf\n    content: would be written\n"

CASES = {
    "unknown attribute": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    contnet: hi\n"},
        ["manifests/app.yaml:5: file:/etc/x: unknown attribute 'contnet' (did you mean 'content'?)"],
    ),
    "unknown relation attribute": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    notfy: exec:x\n"},
        ["manifests/app.yaml:5: file:/etc/x: unknown attribute 'notfy' (did you mean 'notify'?)"],
    ),
    "unknown type": (
        {"manifests/app.yaml": FIRST + "  - fiel: /etc/x\n"},
        ["manifests/app.yaml:4: unknown resource type 'fiel' (did you mean 'file'?)"],
    ),
    "duplicate resource": (
        {
            "manifests/app.yaml": "include: [other]\n" + FIRST + "  - file: /etc/x\n    content: a\n",
            "manifests/other.yaml": "resources:\n  - file: /etc/y\n  - file: /etc/x\n    content: b\n",
        },
        ["manifests/other.yaml:3: file:/etc/x: declared twice: also at manifests/app.yaml:5"],
    ),
    "duplicate from a loop": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/{{ item }}\n    loop: [a, b, a]\n"},
        ["manifests/app.yaml:4: file:/etc/a: declared twice: also at manifests/app.yaml:4"],
    ),
    "missing reference": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    require: file:/etc/nope\n"},
        ["manifests/app.yaml:5: file:/etc/x: require: no resource file:/etc/nope in this catalog"],
    ),
    "missing reference in a list": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    notify: [file:/etc/first.conf, exec:gone]\n"},
        ["manifests/app.yaml:5: file:/etc/x: notify: no resource exec:gone in this catalog"],
    ),
    "dependency cycle": (
        {
            "manifests/app.yaml": FIRST
            + "  - file: /etc/a\n    require: file:/etc/c\n"
            + "  - file: /etc/b\n    require: file:/etc/a\n"
            + "  - file: /etc/c\n    require: file:/etc/b\n"
        },
        [
            "dependency cycle: file:/etc/a (manifests/app.yaml:4) -> file:/etc/b (manifests/app.yaml:6) "
            "-> file:/etc/c (manifests/app.yaml:8) -> file:/etc/a (manifests/app.yaml:4)"
        ],
    ),
    "cycle through notify and before": (
        {
            "manifests/app.yaml": FIRST
            + "  - file: /etc/a\n    notify: exec:b\n"
            + "  - exec: b\n    command: [/bin/true]\n    refreshonly: true\n    before: file:/etc/a\n"
        },
        ["dependency cycle: ", "file:/etc/a (manifests/app.yaml:4)", "exec:b (manifests/app.yaml:6)"],
    ),
    "undefined variable inline": (
        {"manifests/app.yaml": FIRST + '  - file: /etc/x\n    content: "{{ nope }}\\n"\n'},
        ["manifests/app.yaml:5: file:/etc/x: cannot render: undefined: 'nope' is undefined"],
    ),
    "undefined variable in a template": (
        {
            "manifests/app.yaml": FIRST + "  - file: /etc/x\n    template: app/x.conf.j2\n",
            "templates/app/x.conf.j2": "# managed\n{% for i in [1] %}\nvalue = {{ settings.nope }}\n{% endfor %}\n",
        },
        ["templates/app/x.conf.j2:3: file:/etc/x: in template: undefined: 'settings' is undefined"],
    ),
    "template syntax error": (
        {
            "manifests/app.yaml": FIRST + "  - file: /etc/x\n    template: x.j2\n",
            "templates/x.j2": "a\nb {% if %}\n",
        },
        ["templates/x.j2:2: file:/etc/x: in template: "],
    ),
    "template path with ..": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    template: ../hiera.yaml\n"},
        ["manifests/app.yaml:5: file:/etc/x: template '../hiera.yaml' must be a path inside the repository"],
    ),
    "absolute template path": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    template: /etc/passwd\n"},
        ["manifests/app.yaml:5: file:/etc/x: template '/etc/passwd' must be a path inside the repository"],
    ),
    "source path with ..": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    source: ../../hiera.yaml\n"},
        ["manifests/app.yaml:5: file:/etc/x: source '../../hiera.yaml' must be a path inside the repository"],
    ),
    "missing template": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    template: nope.j2\n"},
        ["manifests/app.yaml:5: file:/etc/x: template not found: no templates/nope.j2 or manifests/nope.j2"],
    ),
    "bad mode": (
        {"manifests/app.yaml": FIRST + '  - file: /etc/x\n    content: x\n    mode: "0999"\n'},
        ["manifests/app.yaml:6: file:/etc/x: mode '0999' must be octal digits like \"0644\" (quote it in YAML)"],
    ),
    "unquoted mode": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    content: x\n    mode: 0644\n"},
        ["manifests/app.yaml:6: file:/etc/x: 'mode' must be a string, not an integer (420)"],
    ),
    "string command without shell": (
        {"manifests/app.yaml": FIRST + "  - exec: hello\n    command: echo hello\n"},
        [
            "manifests/app.yaml:5: exec:hello: 'command' is a string: give an argv list, "
            "or set shell: true to run it with /bin/sh"
        ],
    ),
    "string title as command without shell": (
        {"manifests/app.yaml": FIRST + "  - exec: /usr/bin/touch /tmp/x\n"},
        ["manifests/app.yaml:4: exec:/usr/bin/touch /tmp/x: 'command' is a string"],
    ),
    "relative file path": (
        {"manifests/app.yaml": FIRST + "  - file: etc/x\n"},
        ["manifests/app.yaml:4: file:etc/x: the path 'etc/x' must be absolute and normal"],
    ),
    "lookup of a missing key in a template": (
        {
            "manifests/app.yaml": FIRST + "  - file: /etc/x\n    template: x.j2\n",
            "templates/x.j2": "a\n{{ lookup('app::nope') }}\n",
        },
        ["templates/x.j2:2: file:/etc/x: in template: did not find a value for 'app::nope'"],
    ),
    "loop that is not a list": (
        {"manifests/app.yaml": FIRST + '  - file: /etc/{{ item }}\n    loop: "{{ 5 }}"\n'},
        ["manifests/app.yaml:5: loop must give a list, not 5"],
    ),
    "not a reference": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    require: nope\n"},
        ["manifests/app.yaml:5: file:/etc/x: require: 'nope' is not a reference (type:title or class:name)"],
    ),
    "missing source": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n    source: nope.txt\n"},
        ["manifests/app.yaml:5: file:/etc/x: source not found: no files/nope.txt"],
    ),
    "manifest YAML syntax": (
        {"manifests/app.yaml": FIRST + "  - file: /etc/x\n   content: [\n"},
        ["manifests/app.yaml:5: Unable to parse YAML"],
    ),
    "unknown class": (
        {"data/common.yaml": "classes: [app, nope]\n", "manifests/app.yaml": FIRST},
        ["data/common.yaml:1: class 'nope' not found: no manifests/nope.yaml"],
    ),
}


@pytest.mark.parametrize(("files", "messages"), list(CASES.values()), ids=list(CASES))
def test_errors_stop_the_run_before_any_change(site: Site, files: dict[str, str], messages: list[str]) -> None:
    site.write({"data/common.yaml": "classes: [app]\n", **files})
    before = tree_digest(site.root)
    run = site.apply(json_report=False)
    assert run.returncode == 1, run.stdout + run.stderr  # 1 even with --detailed-exitcodes
    assert run.stdout == ""
    assert run.stderr.startswith("tend: ") and run.stderr.count("\n") == 1, run.stderr
    for message in messages:
        assert message in run.stderr
    assert tree_digest(site.root) == before
    assert not (site.state / "state.json").exists()
    assert not (site.state / "bucket").exists()


def test_template_next_to_the_class_is_named_where_it_is(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": FIRST + "  - file: /etc/x\n    template: app/x.j2\n",
            "manifests/app/x.j2": "ok\n{{ nope }}\n",
        }
    )
    run = site.apply(json_report=False)
    assert run.returncode == 1
    assert "manifests/app/x.j2:2: file:/etc/x: in template: undefined: 'nope' is undefined" in run.stderr


@pytest.mark.parametrize("attribute", ['content: "{{ nope }}\\n"', "template: x.j2"], ids=["inline", "template"])
def test_render_errors_name_the_resource(site: Site, attribute: str) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": FIRST + f"  - file: /etc/x\n    {attribute}\n",
            "templates/x.j2": "{{ nope }}\n",
        }
    )
    run = site.apply(json_report=False)
    assert run.returncode == 1
    assert "file:/etc/x" in run.stderr


def test_two_resources_managing_one_path_are_a_duplicate(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": FIRST
            + "  - file: motd\n    path: /etc/motd\n    content: one\n"
            + "  - file: /etc/motd\n    content: two\n",
        }
    )
    run = site.apply(json_report=False)
    assert run.returncode == 1, run.stdout
    assert "manifests/app.yaml:7: file:/etc/motd: declared twice: also at manifests/app.yaml:4" in run.stderr
    assert not site.path("/etc/motd").exists()

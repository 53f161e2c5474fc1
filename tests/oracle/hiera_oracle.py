#!/usr/bin/env python3
"""Check the Hiera conformance cases against real Puppet (the reference Hiera 5).

The cases live in ``tests/unit/data/cases/*.yaml`` (see the format below). This
script is a development tool, not a test: CI never runs it (it needs Debian's
``puppet`` package and costs ~1.5 s per ``puppet apply``).

Usage::

    apt-get update && apt-get install -y puppet       # Puppet 7 (as root)
    .venv/bin/python tests/oracle/hiera_oracle.py                 # every case file
    .venv/bin/python tests/oracle/hiera_oracle.py merge_deep.yaml # some files
    .venv/bin/python tests/oracle/hiera_oracle.py -k knockout     # names containing a word
    .venv/bin/python tests/oracle/hiera_oracle.py --show          # print what Puppet returned
    .venv/bin/python tests/oracle/hiera_oracle.py -j 4 --keep     # 4 applies at once, keep the trees

It prints one line per mismatch and ``N passed, N failed`` at the end, and exits
1 when any case disagrees with Puppet.

How a case is run. Each case gets an environment tree ``E/production`` holding
``hiera.yaml`` (the case's ``hiera:`` or the default one below) and the data
files under ``data/`` (a path starting with ``../`` lands beside ``data``). The
facts (the defaults ``hostname: web1, role: web, environment: prod``, with the
case's ``facts`` merged over them) are given to Facter as custom facts (a small
fact file in the tree reads them as JSON from ``ORACLE_FACTS``), so they can be
arrays or hashes and they override core facts such as ``hostname``. Puppet
runs in the environment the ``environment`` fact names (the tree is
``E/<environment>``), so Puppet's top-scope ``$environment`` equals the fact, as
in tend. Its certname (``--certname``) is the ``certname`` fact, else ``fqdn``,
else ``hostname``, as tend takes it from the inventory, so ``clientcert`` and
``trusted.*`` compare too; ``puppet apply`` has no certificate, so its
``trusted.extensions`` is always empty (cases giving ``trusted_extensions`` say
so with ``puppet:``). A data path starting with ``../modules/NAME/`` makes a
module of the environment (its own ``hiera.yaml`` and ``data/``).

The key is looked up with ``lookup(KEY, undef, MERGE, '__NF__')``: the
sentinel default tells "not found" apart from a found ``null``. Cases sharing
the same hiera.yaml, data and facts whose Puppet run is expected to succeed are
batched into one ``puppet apply``; if that run fails, each case is re-run
alone. A case expected to fail runs alone; its ``error:`` text must occur in
Puppet's ``Error:`` message (whitespace-normalised).

Comparison is strict on types: ``1``, ``1.0``, ``true`` and ``"1"`` are all
different, and hash keys keep their types (``{1: a}`` is not ``{"1": a}``).
Hash key order is NOT compared, except in cases with ``ordered: true``, where
the order of keys (at every depth) must match too.

Case format (each case file is a YAML list of these)::

    - name: unique across all files
      hiera: |                  # optional hiera.yaml text; default: DEFAULT_HIERA
      data: {common.yaml: "a: 1\\n"}   # file -> text, relative to the datadir "data"
      facts: {role: db}         # optional, merged over DEFAULT_FACTS
      lookup: a                 # the key (may be dotted: a.b, list.1, a.'b.c')
      merge: unique             # optional: a strategy name or a hash {strategy: deep, ...}
      expect: 1                 # exactly one of expect / not_found: true / error: "text"
      ordered: true             # optional: hash key order of `expect` is significant
      puppet: ""                # optional: the value Puppet returns where tend differs
      differs: "why"            # required with puppet:, quoting DESIGN.md

With ``puppet:`` the Puppet result is checked against ``puppet:`` (the value
Puppet returns) instead of ``expect``/``not_found``/``error``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

CASES_DIR = Path(__file__).resolve().parents[1] / "unit" / "data" / "cases"

DEFAULT_HIERA = """\
version: 5
defaults: {datadir: data, data_hash: yaml_data}
hierarchy:
  - name: node
    path: nodes/%{facts.hostname}.yaml
  - name: role
    path: roles/%{facts.role}.yaml
  - name: env
    path: envs/%{facts.environment}.yaml
  - name: common
    path: common.yaml
"""

DEFAULT_FACTS = {"hostname": "web1", "role": "web", "environment": "prod"}

NOT_FOUND = "__NF__"
MARK = "Notice: Scope(Class[main]): "

DUMP_RB = """\
Puppet::Functions.create_function(:'util::oracle_dump') do
  def oracle_dump(data)
    require 'json'
    JSON.generate(tag(data))
  end

  def tag(v)
    case v
    when Hash then { '__h__' => v.map { |k, x| [tag(k), tag(x)] } }
    when Array then v.map { |x| tag(x) }
    when nil, true, false, Integer, Float, String then v
    else { '__other__' => "#{v.class}: #{v.inspect}" }
    end
  end
end
"""

FACTS_RB = """\
require 'json'
if ENV['ORACLE_FACTS']
  JSON.parse(ENV['ORACLE_FACTS']).each do |name, value|
    Facter.add(name.to_sym) do
      has_weight 100_000
      setcode { value }
    end
  end
end
"""

KNOWN_FIELDS = {
    "name",
    "hiera",
    "data",
    "facts",
    "lookup",
    "merge",
    "expect",
    "not_found",
    "error",
    "ordered",
    "puppet",
    "differs",
}


# --------------------------------------------------------------------------- cases


def load_cases(files: list[Path]) -> list[dict]:
    cases: list[dict] = []
    seen: dict[str, Path] = {}
    problems: list[str] = []
    for path in files:
        items = yaml.safe_load(path.read_text()) or []
        if not isinstance(items, list):
            problems.append(f"{path.name}: not a list of cases")
            continue
        for case in items:
            name = case.get("name")
            where = f"{path.name}: {name!r}"
            if not name:
                problems.append(f"{path.name}: a case without a name")
                continue
            if name in seen:
                problems.append(f"{where}: name also used in {seen[name].name}")
            seen[name] = path
            unknown = set(case) - KNOWN_FIELDS
            if unknown:
                problems.append(f"{where}: unknown fields {sorted(unknown)}")
            outcomes = [k for k in ("expect", "not_found", "error") if k in case]
            if len(outcomes) != 1:
                problems.append(f"{where}: needs exactly one of expect/not_found/error")
            if ("puppet" in case) != ("differs" in case):
                problems.append(f"{where}: puppet: and differs: go together")
            if "lookup" not in case:
                problems.append(f"{where}: no lookup key")
            case["_file"] = path.name
            cases.append(case)
    if problems:
        sys.exit("invalid case files:\n  " + "\n  ".join(problems))
    return cases


def puppet_expects_error(case: dict) -> bool:
    return "error" in case and "puppet" not in case


def setup_key(case: dict) -> str:
    facts = {**DEFAULT_FACTS, **(case.get("facts") or {})}
    return json.dumps([case.get("hiera") or DEFAULT_HIERA, case.get("data") or {}, facts], sort_keys=True)


def environment_of(case: dict) -> str:
    return str({**DEFAULT_FACTS, **(case.get("facts") or {})}["environment"])


def certname_of(facts: dict) -> str:
    """The certname as tend derives it (agent/facts/node.py): certname, else fqdn, else hostname."""
    return str(facts.get("certname") or facts.get("fqdn") or facts.get("hostname"))


# ---------------------------------------------------------------- puppet values


def pp_literal(value) -> str:
    """A Puppet language literal for a plain YAML value."""
    if value is None:
        return "undef"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(pp_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{pp_literal(k)} => {pp_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Puppet literal for {value!r}")


def untag(value):
    """Puppet's tagged JSON back to Python (hashes become dicts, keys keep types)."""
    if isinstance(value, list):
        return [untag(v) for v in value]
    if isinstance(value, dict):
        if "__h__" in value:
            return {_hashable(untag(k)): untag(v) for k, v in value["__h__"]}
        return {"__other__": value["__other__"]}
    return value


def _hashable(key):
    return json.dumps(key) if isinstance(key, list | dict) else key


def canon(value, ordered: bool):
    """A type-strict comparable form: 1, 1.0, True and "1" all differ."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, list):
        return ("list", tuple(canon(v, ordered) for v in value))
    if isinstance(value, dict):
        pairs = tuple((canon(k, ordered), canon(v, ordered)) for k, v in value.items())
        return ("dict", pairs if ordered else tuple(sorted(pairs, key=repr)))
    return ("other", repr(value))


def show(value) -> str:
    return json.dumps(value, default=str) if not _has_nonstr_keys(value) else repr(value)


def _has_nonstr_keys(value) -> bool:
    if isinstance(value, dict):
        return any(not isinstance(k, str) or _has_nonstr_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nonstr_keys(v) for v in value)
    return False


# ------------------------------------------------------------------ running puppet


class Runner:
    def __init__(self, root: Path, keep: bool):
        self.root = root
        self.keep = keep
        self.counter = itertools.count(1)

    def tree(self, case: dict) -> Path:
        base = self.root / f"run{next(self.counter):04d}"
        env = base / "E" / environment_of(case)
        fn = env / "modules" / "util" / "lib" / "puppet" / "functions" / "util"
        fn.mkdir(parents=True)
        (fn / "oracle_dump.rb").write_text(DUMP_RB)
        facter = env / "modules" / "util" / "lib" / "facter"
        facter.mkdir(parents=True)
        (facter / "oracle_facts.rb").write_text(FACTS_RB)
        (env / "hiera.yaml").write_text(case.get("hiera") or DEFAULT_HIERA)
        datadir = env / "data"
        datadir.mkdir()
        for rel, text in (case.get("data") or {}).items():
            target = (datadir / rel).resolve()
            if not str(target).startswith(str(env.resolve())):
                raise ValueError(f"{case['name']}: data path {rel} leaves the environment")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text if text is not None else "")
        return base

    def apply(self, cases: list[dict]) -> tuple[dict | None, str]:
        """Run one puppet apply for cases sharing a setup: ({name: value}, "") or (None, error)."""
        base = self.tree(cases[0])
        parts = []
        for i, case in enumerate(cases):
            merge = pp_literal(case.get("merge")) if case.get("merge") is not None else "undef"
            call = f"lookup({pp_literal(str(case['lookup']))}, undef, {merge}, '{NOT_FOUND}')"
            parts.append(f"'c{i}' => {call}")
        code = f"notice(util::oracle_dump({{{', '.join(parts)}}}))"
        facts = {**DEFAULT_FACTS, **(cases[0].get("facts") or {})}
        env = {**os.environ, "ORACLE_FACTS": json.dumps(facts)}
        cmd = [
            "puppet",
            "apply",
            "--color=false",
            "--environmentpath",
            str(base / "E"),
            "--environment",
            environment_of(cases[0]),
            "--certname",
            certname_of(facts),
            "--vardir",
            str(base / "var"),
            "-e",
            code,
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if not self.keep:
            shutil.rmtree(base, ignore_errors=True)
        out = proc.stdout + proc.stderr
        for line in out.splitlines():
            if line.startswith(MARK):
                raw = json.loads(line.split(MARK, 1)[1])
                return {case["name"]: untag(raw["__h__"][i][1]) for i, case in enumerate(cases)}, ""
        errors: list[str] = []
        for line in out.splitlines():
            # Facter's complaints about /proc/1 in containers are noise.
            if line.startswith("Error:") and not line.startswith("Error: Facter:") and line not in errors:
                errors.append(line)
        return None, "\n".join(errors) or out.strip()


def judge(case: dict, value, error: str | None) -> str | None:
    """None when Puppet agrees with the case, else a description of the difference."""
    got = f"error: {error}" if error is not None else show(value)
    if error is None and value == NOT_FOUND:
        got = "not found"
    ordered = bool(case.get("ordered"))
    if "puppet" in case:
        want = case["puppet"]
        if error is None and value != NOT_FOUND and canon(value, ordered) == canon(want, ordered):
            return None
        return f"puppet: {show(want)} | Puppet gave {got}"
    if "error" in case:
        needle = " ".join(str(case["error"]).split())
        if error is not None and needle in " ".join(error.split()):
            return None
        return f"error: {needle!r} | Puppet gave {got}"
    if case.get("not_found"):
        if error is None and value == NOT_FOUND:
            return None
        return f"not_found | Puppet gave {got}"
    want = case["expect"]
    if error is None and value != NOT_FOUND and canon(value, ordered) == canon(want, ordered):
        return None
    return f"expect: {show(want)} | Puppet gave {got}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="case files (names in the cases dir, or paths); default all")
    ap.add_argument("-k", dest="word", help="only cases whose name contains this")
    ap.add_argument("-j", dest="jobs", type=int, default=2, help="puppet applies at once (default 2)")
    ap.add_argument("--show", action="store_true", help="print Puppet's result for every case")
    ap.add_argument("--keep", action="store_true", help="keep the environment trees (printed)")
    args = ap.parse_args(argv)

    if shutil.which("puppet") is None:
        sys.exit("puppet is not installed: apt-get install -y puppet")
    if args.files:
        files = [Path(f) if Path(f).exists() else CASES_DIR / f for f in args.files]
    else:
        files = sorted(CASES_DIR.glob("*.yaml"))
    cases = load_cases(files)
    if args.word:
        cases = [c for c in cases if args.word in c["name"]]

    groups: dict[str, list[dict]] = {}
    singles: list[list[dict]] = []
    for case in cases:
        if puppet_expects_error(case):
            singles.append([case])
        else:
            groups.setdefault(setup_key(case), []).append(case)
    batches = list(groups.values()) + singles

    root = Path(tempfile.mkdtemp(prefix="hiera-oracle-"))
    runner = Runner(root, args.keep)
    results: dict[str, tuple[object, str | None]] = {}

    def run(batch: list[dict]) -> None:
        values, error = runner.apply(batch)
        if values is not None:
            for name, value in values.items():
                results[name] = (value, None)
        elif len(batch) == 1:
            results[batch[0]["name"]] = (None, error)
        else:
            for case in batch:
                run([case])

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(run, batches))

    failed = 0
    for case in cases:
        value, error = results[case["name"]]
        verdict = judge(case, value, error)
        if args.show:
            got = f"ERROR {error}" if error is not None else show(value)
            print(f"[{case['_file']}] {case['name']}: {got}")
        if verdict is not None:
            failed += 1
            print(f"MISMATCH [{case['_file']}] {case['name']}: {verdict}")
    if args.keep:
        print(f"environment trees kept under {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Hiera 5 conformance: table-driven cases (tests/unit/data/cases/*.yaml), checked against Puppet when written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.data.explain import to_plain
from agent.data.hiera import Hiera
from agent.errors import NotFound, TendError
from tests.oracle.hiera_oracle import CASES_DIR, DEFAULT_FACTS, DEFAULT_HIERA  # one set of defaults for both


def _load_cases() -> list[Any]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()) or []:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


def _site(tmp_path: Path, case: dict[str, Any]) -> Path:
    (tmp_path / "hiera.yaml").write_text(case.get("hiera") or DEFAULT_HIERA)
    for relative, text in (case.get("data") or {}).items():
        target = tmp_path / "data" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


@pytest.mark.parametrize("case", _load_cases())
def test_case(tmp_path: Path, case: dict[str, Any]) -> None:
    root = _site(tmp_path, case)
    facts = {**DEFAULT_FACTS, **(case.get("facts") or {})}

    def lookup() -> Any:
        return Hiera(root).context(facts).lookup(case["lookup"], case.get("merge")).value

    if "error" in case:
        with pytest.raises(TendError) as raised:
            lookup()
        assert not isinstance(raised.value, NotFound), "expected an error, got not found"
        assert case["error"] in str(raised.value)
    elif case.get("not_found"):
        with pytest.raises(NotFound):
            lookup()
    else:
        value = to_plain(lookup())
        assert value == case["expect"]
        assert _types(value) == _types(case["expect"]), "1, 1.0 and true must stay distinct"
        if case.get("ordered"):
            assert json.dumps(value) == json.dumps(case["expect"])


def _types(value: Any) -> Any:
    if isinstance(value, list):
        return [_types(v) for v in value]
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    return type(value).__name__

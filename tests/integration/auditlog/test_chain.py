"""The secret-read log's hash chain: every kind of tampering is caught and named by `tend audit verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.secrets.auditlog import GENESIS, AuditLog


def read(i: int) -> dict:
    return {"time": f"2026-11-26T10:00:0{i}+00:00", "run_id": f"r{i}", "host": "web1", "commit": None,
            "key": f"k{i}", "file": "hieradata/common.yaml", "ciphertext_sha256": f"{i:064x}"}  # fmt: skip


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit.log")
    log.append([read(1), read(2)])
    log.append([read(3)])
    log.append([read(4), read(5)])
    return log


def lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines()


def test_intact_chain(log: AuditLog) -> None:
    verdict = log.verify()
    assert (verdict.ok, verdict.lines) == (True, 5)
    entries = list(log.entries())
    assert entries[0]["prev"] == GENESIS and [e["key"] for e in entries] == ["k1", "k2", "k3", "k4", "k5"]


def test_no_value_is_ever_logged(log: AuditLog) -> None:
    assert all(set(e) == {*read(1), "prev"} for e in log.entries())


@pytest.mark.parametrize(
    ("tamper", "line"),
    [
        (lambda ls: ls[:1] + ls[2:], 2),  # delete line 2
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], 2),  # swap lines 2 and 3
        (lambda ls: [ls[0], ls[1].replace("k2", "kX"), *ls[2:]], 3),  # edit line 2: line 3 no longer links
        (lambda ls: ls[1:], 1),  # delete the first line
    ],
    ids=["delete", "reorder", "edit", "delete-first"],
)
def test_tampering_is_named(log: AuditLog, tamper, line: int) -> None:
    log.path.write_text("\n".join(tamper(lines(log))) + "\n")
    verdict = log.verify()
    assert not verdict.ok
    assert verdict.problem.startswith(f"line {line}: ")


def test_editing_or_dropping_the_last_line_is_caught_by_the_head(log: AuditLog) -> None:
    original = lines(log)
    log.path.write_text("\n".join([*original[:-1], original[-1].replace("k5", "kX")]) + "\n")
    assert "last line was edited" in log.verify().problem
    log.path.write_text("\n".join(original[:-1]) + "\n")
    assert "removed from (or added to) the end" in log.verify().problem


def test_verify_cli_names_the_line(tend, log: AuditLog) -> None:
    result = tend(["audit", "verify", str(log.path)])
    assert (result.returncode, result.stdout.strip()) == (0, f"{log.path}: 5 reads, chain intact")
    log.path.write_text("\n".join(lines(log)[:2] + lines(log)[3:]) + "\n")
    result = tend(["audit", "verify", str(log.path)])
    assert result.returncode == 1 and "line 3: the chain breaks here" in result.stderr


def test_show_filters(tend, log: AuditLog) -> None:
    result = tend(["audit", "show", "--state-dir", str(log.path.parent), "--key", "k3", "--json"])
    assert result.returncode == 0, result.stderr
    assert [json.loads(x)["run_id"] for x in result.stdout.splitlines()] == ["r3"]
    result = tend(["audit", "show", "--state-dir", str(log.path.parent), "--since", "2026-11-26T10:00:04"])
    assert len(result.stdout.splitlines()) == 2

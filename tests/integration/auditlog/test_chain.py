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
    assert all(set(e) == {*read(1), "prev", "mac"} for e in log.entries())


@pytest.mark.parametrize(
    ("tamper", "line"),
    [
        (lambda ls: ls[:1] + ls[2:], 2),  # delete line 2
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], 2),  # swap lines 2 and 3
        (lambda ls: [ls[0], ls[1].replace("k2", "kX"), *ls[2:]], 2),  # edit line 2: its own MAC fails
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
    assert log.verify().problem.startswith("line 5: its MAC does not match this host's key")
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


# -- the keyed head: a rewrite by someone who cannot read the key (DESIGN §8.9) ---------------------------


def rechain(entries: list[dict]) -> list[str]:
    """What a forger without the key can do: every line's `prev` recomputed, any `mac` kept or dropped."""
    import hashlib

    out, prev = [], GENESIS
    for entry in entries:
        line = json.dumps({**entry, "prev": prev}, sort_keys=True, separators=(",", ":"))
        out.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    return out


def forge_head(log: AuditLog, text_lines: list[str]) -> None:
    import hashlib

    log.path.write_text("\n".join(text_lines) + "\n")
    head = hashlib.sha256(text_lines[-1].encode()).hexdigest()
    old = json.loads(log.head_path.read_text())
    log.head_path.write_text(json.dumps({**old, "lines": len(text_lines), "head": head}) + "\n")


def test_the_key_is_private_and_made_once(log: AuditLog) -> None:
    key = log.path.with_name("audit.log.key")
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) >= 32
    before = key.read_bytes()
    log.append([read(6)])
    assert key.read_bytes() == before and log.verify().ok


def test_dropping_the_last_line_and_rewriting_the_head_is_caught(log: AuditLog) -> None:
    forge_head(log, lines(log)[:-1])
    verdict = log.verify()
    assert not verdict.ok
    assert verdict.problem.startswith("line 4: ") and "key" in verdict.problem


def test_dropping_a_middle_line_and_rechaining_is_caught_at_that_line(log: AuditLog) -> None:
    kept = [json.loads(x) for x in lines(log)]
    del kept[2]
    forge_head(log, rechain([{k: v for k, v in e.items() if k != "prev"} for e in kept]))
    verdict = log.verify()
    assert not verdict.ok and verdict.problem.startswith("line 3: "), verdict.problem


def test_rewriting_the_whole_log_without_the_key_is_caught(log: AuditLog) -> None:
    entries = [{k: v for k, v in json.loads(x).items() if k not in ("prev", "mac")} for x in lines(log)]
    forged = rechain([e for e in entries if e["key"] != "k2"])
    forge_head(log, forged)
    head = json.loads(log.head_path.read_text())
    head.pop("mac", None)
    log.head_path.write_text(json.dumps(head) + "\n")
    verdict = log.verify()
    assert not verdict.ok and "key" in verdict.problem, verdict.problem


def test_a_log_of_the_old_format_still_verifies_and_continues(tmp_path: Path) -> None:
    """Lines written before the keyed head (no `mac`) verify as before; new lines are keyed after them."""
    path = tmp_path / "audit.log"
    old = rechain([read(1), read(2)])
    path.write_text("\n".join(old) + "\n")
    import hashlib

    (tmp_path / "audit.log.head").write_text(
        json.dumps({"lines": 2, "head": hashlib.sha256(old[-1].encode()).hexdigest()}) + "\n"
    )
    log = AuditLog(path)
    assert log.verify().ok
    log.append([read(3)])
    verdict = log.verify()
    assert (verdict.ok, verdict.lines) == (True, 3)
    assert "mac" in json.loads(lines(log)[-1])


def test_each_line_sends_its_chain_hash_to_syslog(log: AuditLog) -> None:
    import hashlib

    from agent.secrets.auditlog import syslog_lines

    written = log.append([read(6), read(7)])
    sent = syslog_lines(written)
    assert len(sent) == 2
    for message, line in zip(sent, written, strict=True):
        assert message.startswith(line.decode()) and message.endswith(f" sha256={hashlib.sha256(line).hexdigest()}")

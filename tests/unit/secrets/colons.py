"""Reads `gpg --with-colons --fixed-list-mode --list-keys` into KeyInfo values: gpg as the oracle."""

from __future__ import annotations

from agent.secrets.packets import KeyInfo


def listed_keys(colons: str) -> list[KeyInfo]:
    """The pub/sub keys of a colon listing, each with its fpr line and its certificate's uid lines."""
    rows: list[dict] = []
    user_ids: list[str] = []
    primary: dict = {}
    for line in colons.splitlines():
        fields = line.split(":")
        if fields[0] in ("pub", "sub"):
            row = {
                "key_id": fields[4],
                "is_subkey": fields[0] == "sub",
                "algorithm": int(fields[3]),
                "created": int(fields[5]),
                "expires": int(fields[6]) if fields[6] else None,
                "can_encrypt": "e" in fields[11],
                "revoked": fields[1] == "r",
            }
            if fields[0] == "pub":
                primary, user_ids = row, []
            row["primary"], row["user_ids"] = primary, user_ids
            rows.append(row)
        elif fields[0] == "fpr" and rows and "fingerprint" not in rows[-1]:
            rows[-1]["fingerprint"] = fields[9]
        elif fields[0] == "uid":
            user_ids.append(fields[9])
    return [_key(row) for row in rows]


def _key(row: dict) -> KeyInfo:
    primary, user_ids = row.pop("primary"), row.pop("user_ids")
    return KeyInfo(primary_fingerprint=primary["fingerprint"], user_ids=tuple(user_ids), **row)

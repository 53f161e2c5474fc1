"""W6's control repository: a fleet of N hosts in 5 roles x 2 environments, V encrypted values, real keys.

Every host has its own key (keys/hosts/<host>.asc) and two admins read everything. The values sit where sites
put them, and each is encrypted to exactly its derived readers (the hosts whose catalog uses it, plus the admins),
so the audit finds every pair `ok` and exits 0:
  common.yaml                  4% of the values, used by every host (class base)
  environments/<env>.yaml      3% each, used by the environment's hosts (class base)
  roles/<role>/<env>.yaml      1.5% each, used by the role's hosts in that environment (the role's class)
  roles/<role>.yaml            the rest, used by every host of the role (the role's class)
Each class takes its secrets as parameters and renders them into one file. Values with the same readers share
one ciphertext (the audit reads recipients from packet headers; it never decrypts), so the setup encrypts ~18
times, not V times. `python -m bench.fleet DIR --hosts N --values V` writes one to look at.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import keyring

ROLES = ("web", "app", "db", "cache", "queue")
ENVIRONMENTS = ("prod", "staging")
ADMINS = ("alice", "bob")
HIERA = """\
version: 5
defaults: {datadir: hieradata, data_hash: yaml_data}
hierarchy:
  - name: Per node
    path: nodes/%{facts.hostname}.yaml
  - name: Per role and environment
    paths:
      - roles/%{facts.role}/%{facts.environment}.yaml
      - roles/%{facts.role}.yaml
  - name: Per environment
    path: environments/%{facts.environment}.yaml
  - name: Common
    path: common.yaml
"""


@dataclass(slots=True)
class Fleet:
    root: Path
    hosts: dict[str, tuple[str, str]]  # name: (role, environment)
    values: int = 0
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # data file: {key: ENC[...]}


def host_names(count: int) -> dict[str, tuple[str, str]]:
    """`count` hosts spread evenly over the roles and environments (at least one in each group)."""
    groups = [(role, env) for role in ROLES for env in ENVIRONMENTS]
    per_group = max(1, count // len(groups))
    return {f"{role}-{env}-{n:03d}": (role, env) for role, env in groups for n in range(1, per_group + 1)}


def layout(values: int) -> dict[str, int]:
    """How many keys each kind of data file holds (common takes what rounding leaves)."""
    env = max(1, values * 3 // 200)
    role_env = max(1, values * 3 // 200)
    common = max(1, values * 4 // 100)
    rest = values - common - env * len(ENVIRONMENTS) - role_env * len(ROLES) * len(ENVIRONMENTS)
    role = max(1, rest // len(ROLES))
    common += max(0, rest - role * len(ROLES))
    return {"common": common, "env": env, "role_env": role_env, "role": role}


def make_fleet(root: Path, keys: keyring.KeySet, hosts: dict[str, tuple[str, str]], values: int) -> Fleet:
    fleet = Fleet(root, hosts)
    counts = layout(values)
    by_role = {r: [h for h, (role, _) in hosts.items() if role == r] for r in ROLES}
    by_env = {e: [h for h, (_, env) in hosts.items() if env == e] for e in ENVIRONMENTS}
    cipher: dict[tuple[str, ...], str] = {}

    def enc(readers: Sequence[str]) -> str:
        wanted = tuple(sorted(readers)) + ADMINS
        if wanted not in cipher:
            cipher[wanted] = keyring.encrypt(keys, f"secret for {len(wanted)} readers".encode(), wanted)
        return cipher[wanted]

    def put(path: str, prefix: str, count: int, readers: list[str]) -> None:
        fleet.files.setdefault(path, {}).update({f"{prefix}{n:03d}": enc(readers) for n in range(1, count + 1)})
        fleet.values += count

    put("hieradata/common.yaml", "base::secret_", counts["common"], list(hosts))
    for env in ENVIRONMENTS:
        put(f"hieradata/environments/{env}.yaml", "base::env_secret_", counts["env"], by_env[env])
    for role in ROLES:
        put(f"hieradata/roles/{role}.yaml", f"{role}::secret_", counts["role"], by_role[role])
        for env in ENVIRONMENTS:
            readers = [h for h in by_role[role] if hosts[h][1] == env]
            put(f"hieradata/roles/{role}/{env}.yaml", f"{role}::env_secret_", counts["role_env"], readers)
    _write(fleet, keys, counts)
    return fleet


def _write(fleet: Fleet, keys: keyring.KeySet, counts: dict[str, int]) -> None:
    root = fleet.root
    for folder in ("hieradata/roles", "hieradata/environments", "manifests", "templates/bench", "keys/hosts"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "keys/admins").mkdir(exist_ok=True)
    (root / "hiera.yaml").write_text(HIERA)
    inventory = "".join(f"  {h}: {{role: {r}, environment: {e}}}\n" for h, (r, e) in fleet.hosts.items())
    (root / "keys/inventory.yaml").write_text(f"hosts:\n{inventory}admins: [{', '.join(ADMINS)}]\n")
    for host in fleet.hosts:
        (root / f"keys/hosts/{host}.asc").write_bytes(keys.public[host])
    for admin in ADMINS:
        (root / f"keys/admins/{admin}.asc").write_bytes(keys.public[admin])
    # The site-wide and per-role values are shared by both environments on purpose: accepted, with a reason.
    accept = 'lookup_options:\n  "^[a-z]+::secret_[0-9]+$": {tend_cross_env: "bench fleet: shared by design"}\n'
    extra = {"hieradata/common.yaml": "classes: [base]\n" + accept}
    extra.update({f"hieradata/roles/{role}.yaml": f"classes: [{role}]\n" for role in ROLES})
    for path, data in fleet.files.items():
        lines = "".join(f"{key}: {json.dumps(value)}\n" for key, value in data.items())
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(extra.get(path, "") + lines)
    _class(root, "base", [("secret_", counts["common"]), ("env_secret_", counts["env"])])
    for role in ROLES:
        _class(root, role, [("secret_", counts["role"]), ("env_secret_", counts["role_env"])])


def _class(root: Path, name: str, groups: list[tuple[str, int]]) -> None:
    """A class taking its secrets as parameters and rendering them into one file (mode 0600)."""
    params = [f"{prefix}{n:03d}" for prefix, count in groups for n in range(1, count + 1)]
    (root / f"manifests/{name}.yaml").write_text(
        "parameters:\n"
        + "".join(f"  {p}: null\n" for p in params)
        + f'resources:\n  - file: /etc/bench-{name}.conf\n    template: bench/{name}.conf.j2\n    mode: "0600"\n'
    )
    (root / f"templates/bench/{name}.conf.j2").write_text("".join(f"{p} = {{{{ {p} }}}}\n" for p in params))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description="Write W6's fleet repository.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--values", type=int, default=500)
    parser.add_argument("--cache", type=Path, default=Path("/var/cache/tend-bench"))
    args = parser.parse_args()
    hosts = host_names(args.hosts)
    keys = keyring.cached(args.cache, f"fleet-{len(hosts)}", [*hosts, *ADMINS])
    try:
        fleet = make_fleet(args.root, keys, hosts, args.values)
    finally:
        keyring.stop_agent(keys.home)
    print(f"wrote {args.root}: {len(fleet.hosts)} hosts, {fleet.values} values in {len(fleet.files)} data files")


if __name__ == "__main__":
    main()

"""W5: a run that decrypts 50 secrets: how many gpg processes it starts, and what each secret costs.

The host's key (ed25519 + cv25519, as `tend keys init` makes it) is generated in the state directory's keyring
(`STATE/gnupg`, a short folder under /tmp); 50 distinct values are encrypted to it, and one class renders each
into its own file (mode 0600). Figures, from no-op runs (converged once before, so only the compile and its
decryption vary): the whole run; the cost per secret, (run with the encrypted values - the same run with the
values in plain text) / 50, paired repetition by repetition; and the whole run against the same run decrypting
one value at a time (TEND_GPG_JOBS=1, the path before decryption went parallel). Baselines, in rotation: the
plain-text run; one bare `gpg --decrypt` process of one of the values; the one-at-a-time run. The processes
are counted in one more, untimed run under `strace -f -e trace=execve`, with the keyring's gpg-agent already
running (as between timer runs).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from agent.secrets.enc import parse_enc
from bench import keyring
from bench.measure import Goal, Result, Settings, Timing, ratio_goal
from bench.process import Contender, cache_dir, child_env, count_execs, megabytes, rotate, run_child, tend_command

NAME = "W5 secrets"
HOST = "bench1"
FULL, QUICK = 50, 5
TARGET_MS = 10.0
PARALLEL_TARGET = 0.6  # the 50-secret run against the same run decrypting one value at a time
HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: common.yaml\n"


def write_repo(repo: Path, values: dict[str, str], public_key: bytes) -> None:
    """Class bench_secrets: one parameter per value, each rendered into /srv/secrets/<name> (mode 0600)."""
    for folder in ("data", "manifests", "keys/hosts"):
        (repo / folder).mkdir(parents=True, exist_ok=True)
    (repo / "hiera.yaml").write_text(HIERA)
    (repo / "keys/inventory.yaml").write_text(f"hosts:\n  {HOST}: {{role: bench}}\nadmins: []\n")
    (repo / f"keys/hosts/{HOST}.asc").write_bytes(public_key)
    data = "".join(f"bench_secrets::{name}: {json.dumps(value)}\n" for name, value in values.items())
    (repo / "data/common.yaml").write_text(f"classes: [bench_secrets]\n{data}")
    resources = "".join(
        f'  - file: /srv/secrets/{name}\n    content: "{{{{ {name} }}}}\\n"\n    mode: "0600"\n' for name in values
    )
    (repo / "manifests/bench_secrets.yaml").write_text(
        "parameters:\n"
        + "".join(f"  {name}: null\n" for name in values)
        + 'resources:\n  - file: /srv/secrets\n    ensure: directory\n    mode: "0700"\n'
        + resources
    )


def run(settings: Settings) -> list[Result]:
    count = QUICK if settings.quick else FULL
    # gpg-agent's socket lives in the keyring: the folder must stay short, so it is made right under /tmp.
    with tempfile.TemporaryDirectory(prefix="tb5-", dir="/tmp") as directory:
        scratch = Path(directory)
        env = child_env(cache_dir(settings.quick, scratch))
        keys = keyring.generate(scratch / "s/gnupg", [HOST])
        try:
            return _measure(scratch, keys, count, env, settings)
        finally:
            keyring.stop_agent(keys.home)


def _measure(scratch: Path, keys: keyring.KeySet, count: int, env: dict[str, str], settings: Settings) -> list[Result]:
    plain = {f"secret_{n:02d}": f"benchmark secret number {n:02d}" for n in range(1, count + 1)}
    encrypted = {name: keyring.encrypt(keys, value.encode(), [HOST]) for name, value in plain.items()}
    write_repo(scratch / "enc", encrypted, keys.public[HOST])
    write_repo(scratch / "plain", plain, keys.public[HOST])
    message = scratch / "one.gpg"
    message.write_bytes(parse_enc(next(iter(encrypted.values()))))

    def apply(repo: str, state: str) -> list[str]:
        return [
            *tend_command(), "apply", "--repo", str(scratch / repo), "--root", str(scratch / f"root-{repo}"),
            "--state-dir", str(scratch / state), "--host", HOST, "--detailed-exitcodes",
        ]  # fmt: skip

    for repo, state in (("enc", "s"), ("plain", "p")):
        (scratch / f"root-{repo}/srv").mkdir(parents=True)
        run_child(apply(repo, state), env=env, expect=(2,))  # the first run writes the files
    # The agent is started first, outside the trace: a daemon would keep strace -f waiting. (It keeps running
    # between timer runs anyway; only the first run after a boot starts one, a process more.)
    keyring.gpg(keys.home, ["--list-secret-keys"])
    execs = count_execs(apply("enc", "s"), env=env) or {}
    gpg_execs = {name: n for name, n in execs.items() if name.startswith("gpg")}
    decrypt = ["gpg", "--homedir", str(keys.home), "--batch", "--quiet", "--decrypt", str(message)]
    contenders = [
        Contender("secrets", lambda: run_child(apply("enc", "s"), env=env)),
        Contender("plain", lambda: run_child(apply("plain", "p"), env=env)),
        Contender("gpg", lambda: run_child(decrypt, env={**env, "GNUPGHOME": str(keys.home)})),
        Contender("one at a time", lambda: run_child(apply("enc", "s"), env={**env, "TEND_GPG_JOBS": "1"})),
    ]
    repeat, warmup = (min(settings.repeat, 2), 0) if settings.quick else (settings.repeat, settings.warmup)
    secrets, baseline, gpg, serial = rotate(contenders, repeat=repeat, warmup=warmup)

    gpg_processes = gpg_execs.get("gpg", 0)
    counted = ", ".join(f"{name} {n}" for name, n in sorted(gpg_execs.items())) or "strace not installed"
    # One gpg per secret, and python-gnupg's version probe once per run.
    one_each = Goal(
        f"{NAME}: at most one gpg process per secret (+1 version probe)", counted,
        gpg_processes <= count + 1 if gpg_execs else None,
        "" if gpg_execs else "strace is not installed",
    )  # fmt: skip
    run_note = f"processes started per run: {counted}; peak RSS {megabytes(secrets.rss_kib)}"
    per_secret = Timing(
        tuple((s.seconds - p.seconds) / count for s, p in zip(secrets.samples, baseline.samples, strict=True))
    )
    per_ms = per_secret.median * 1000
    per_goal = Goal(
        f"{NAME}: <= {TARGET_MS:.0f} ms per secret", f"{per_ms:.1f} ms", per_ms <= TARGET_MS,
        "" if per_ms <= TARGET_MS else f"bare `gpg --decrypt` {gpg.timing.median * 1000:.1f} ms in the same rotation",
    )  # fmt: skip
    per_note = f"(run with secrets - plain run) / {count}, paired"
    parallel_goal = ratio_goal(
        f"{NAME}: the {count}-secret run <= {PARALLEL_TARGET}x the same run one value at a time", PARALLEL_TARGET,
        secrets.timing, serial.timing, "TEND_GPG_JOBS=1",
    )  # fmt: skip
    decrypting = _decrypting_share(secrets, serial, baseline)
    parallel_note = f"up to nproc gpg processes at once; the decrypting part alone (run - plain run): {decrypting}"
    return [
        Result(
            NAME, f"no-op run decrypting {count} secrets", "time", 1, secrets.timing, baseline.timing,
            "the same run, the values in plain text", None, secrets.rss_kib, run_note, (one_each,),
        ),
        Result(
            NAME, "cost per secret", "time", 1, per_secret, gpg.timing, "one bare `gpg --decrypt` process",
            None, secrets.rss_kib, per_note, (per_goal,),
        ),
        Result(
            NAME, f"{count} secrets decrypted in parallel", "time", 1, secrets.timing, serial.timing,
            "the same run decrypting one value at a time (TEND_GPG_JOBS=1)", None, secrets.rss_kib, parallel_note,
            (parallel_goal,),
        ),
    ]  # fmt: skip


def _decrypting_share(secrets: Contender, serial: Contender, plain: Contender) -> str:
    """(parallel run - plain run) / (one-at-a-time run - plain run), medians: what parallelism did to the
    decrypting part, the rest of the run (compiles, checks) being the same."""
    part, serial_part = secrets.timing.median - plain.timing.median, serial.timing.median - plain.timing.median
    return f"{part / serial_part:.2f}x one at a time" if serial_part > 0 else "not measurable"


def describe(settings: Settings) -> str:
    count = QUICK if settings.quick else FULL
    return f"a no-op run whose catalog decrypts {count} distinct secrets with the host's own key"

"""Atomic writes seen from outside: a concurrent reader and a killed run only ever see whole old or new content.

Slow (two dozen runs rewriting a 1 MB file), so kept in its own module.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.integration.engine.conftest import Site

pytestmark = pytest.mark.slow

SIZE = 1 << 20
CONTENT = {"a": (b"A" * 1023 + b"\n") * (SIZE // 1024), "b": (b"B" * 1023 + b"\n") * (SIZE // 1024)}
REWRITES = 20

READER = """
import json, os, sys
path, stop, a, b = sys.argv[1:]
known = {"a": open(a, "rb").read(), "b": open(b, "rb").read()}
seen, bad, reads = {"a": 0, "b": 0}, [], 0
print("ready", flush=True)
while not os.path.exists(stop):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        bad.append(repr(error))
        continue
    reads += 1
    for name, content in known.items():
        if data == content:
            seen[name] += 1
            break
    else:
        bad.append(f"{len(data)} bytes, starting {data[:8]!r}")
    os.sched_yield()  # only gives way to a process waiting for this CPU, as tend on a busy machine
print(json.dumps({"reads": reads, "seen": seen, "bad": bad[:5], "bad_count": len(bad)}))
"""


def big_file_site(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [big]\n",
            "files/a.bin": CONTENT["a"],
            "files/b.bin": CONTENT["b"],
            "manifests/big.yaml": """
                resources:
                  - file: /etc/big
                    source: "{{ facts.which }}.bin"
                    mode: "0644"
            """,
        }
    )


def tend_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEND_")}
    return {**env, "TEND_CONFIG": "/dev/null", "TEND_FACTS_FILE": "/nonexistent/f", "TEND_FACTS_DIR": "/nonexistent/d"}


def test_a_reader_sees_only_whole_old_or_new_content(site: Site, tmp_path: Path) -> None:
    big_file_site(site)
    assert site.apply("--fact", "which=a").returncode == 2
    target, stop = site.path("/etc/big"), tmp_path / "stop-reading"
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            READER,
            str(target),
            str(stop),
            str(site.repo / "files/a.bin"),
            str(site.repo / "files/b.bin"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline() == "ready\n"
        for i in range(REWRITES):
            which = "b" if i % 2 == 0 else "a"
            run = site.apply("--fact", f"which={which}")
            assert run.returncode == 2, run.stdout + run.stderr
            assert run.result("file:/etc/big")["changes"][0]["property"] == "content"
        stop.touch()
        out, _ = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    result = json.loads(out)
    assert result["bad_count"] == 0, result["bad"]
    assert result["reads"] > REWRITES
    assert result["seen"]["a"] > 0 and result["seen"]["b"] > 0, result
    assert target.read_bytes() == CONTENT["a"]


def test_a_run_killed_at_random_points_leaves_old_or_new_content(site: Site) -> None:
    big_file_site(site)
    assert site.apply("--fact", "which=a").returncode == 2
    target = site.path("/etc/big")
    rng = random.Random(7)
    argv = [sys.executable, "-m", "agent", "apply", "--repo", str(site.repo), "--root", str(site.root),
            "--state-dir", str(site.state)]  # fmt: skip
    for i in range(6):
        which = "b" if i % 2 == 0 else "a"
        child = subprocess.Popen(
            [*argv, "--fact", f"which={which}"],
            cwd=PROJECT,
            env=tend_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.15, 0.45))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert target.read_bytes() in (CONTENT["a"], CONTENT["b"])
    # A run after the crashes converges as usual.
    assert site.apply("--fact", "which=b").returncode in (0, 2)
    assert target.read_bytes() == CONTENT["b"]


def test_temp_files_left_by_a_killed_run_are_cleaned_up(site: Site) -> None:
    big_file_site(site)
    stale = site.path("/etc/.big.tend-0a1b2c")
    stale.write_bytes(CONTENT["b"][: SIZE // 2])
    assert site.apply("--fact", "which=a").returncode == 2
    assert not stale.exists()

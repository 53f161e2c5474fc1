"""A file's `source:` as a URL, against a local HTTP server on 127.0.0.1 that counts the requests it gets:
fetched once into the bucket, no request from a no-op run or plan, a wrong checksum leaves nothing behind,
proxies and the timeout from the environment."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import run_tend
from tests.integration.engine.conftest import Site

PAYLOAD = b"\x00binary payload\xff" * 100
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@dataclass
class Server:
    port: int
    requests: list[str] = field(default_factory=list)
    stall: float = 0.0

    def url(self, path: str = "/tool.bin") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    state = Server(0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            time.sleep(state.stall)
            if not self.path.endswith("/tool.bin"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads, httpd.block_on_close = True, False  # a stalled request does not hold up teardown
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def manifest(site: Site, url: str, checksum: str = SHA) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [dl]\n",
            "manifests/dl.yaml": f"resources:\n  - file: /opt/tool.bin\n    source: {url}\n"
            f"    checksum: sha256:{checksum}\n    mode: '0755'\n",
        }
    )
    site.path("/opt").mkdir(exist_ok=True)


def test_fetched_once_then_never_again(site: Site, server: Server) -> None:
    manifest(site, server.url())
    plan = site.plan()
    assert plan.status("file:/opt/tool.bin") == "would-change" and server.requests == []
    first = site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    assert site.path("/opt/tool.bin").read_bytes() == PAYLOAD and server.requests == ["/tool.bin"]
    assert (site.state / "bucket" / SHA[:2] / SHA).read_bytes() == PAYLOAD
    again = site.apply()
    assert again.returncode == 0 and again.status("file:/opt/tool.bin") == "unchanged"
    assert len(server.requests) == 1  # a no-op run makes no network call
    site.path("/opt/tool.bin").write_bytes(b"tampered")
    repaired = site.apply()
    assert repaired.returncode == 2 and repaired.result("file:/opt/tool.bin")["drift"] is True
    assert site.path("/opt/tool.bin").read_bytes() == PAYLOAD
    assert len(server.requests) == 1  # from the bucket, by its hash


def test_a_wrong_checksum_fails_and_leaves_nothing(site: Site, server: Server) -> None:
    wrong = "0" * 64
    manifest(site, server.url(), wrong)
    run = site.apply()
    assert run.returncode == 4
    error = run.result("file:/opt/tool.bin")["error"]
    assert error.startswith(f"manifests/dl.yaml:3: checksum mismatch: {server.url()} has sha256:{SHA}")
    assert list(site.path("/opt").iterdir()) == []  # no file, no temp file
    assert not (site.state / "bucket").exists() or not any((site.state / "bucket").rglob("*" + SHA))


def test_http_errors_and_the_timeout_from_the_environment(site: Site, server: Server) -> None:
    manifest(site, server.url("/missing"))
    run = site.apply()
    assert f"cannot fetch {server.url('/missing')}: HTTP 404" in run.result("file:/opt/tool.bin")["error"]
    manifest(site, server.url())
    server.stall = 10  # well within the default timeout (60 s): only TEND_HTTP_TIMEOUT makes it time out
    argv = ["apply", "--repo", str(site.repo), "--root", str(site.root), "--state-dir", str(site.state), "--json"]
    done = run_tend(argv, env={"TEND_HTTP_TIMEOUT": "0.5"})
    result = next(r for r in json.loads(done.stdout)["resources"] if r["id"] == "file:/opt/tool.bin")
    assert "timed out" in result["error"], result
    assert not site.path("/opt/tool.bin").exists()


def test_a_proxy_from_the_environment_is_used(site: Site, server: Server) -> None:
    manifest(site, "http://tend-test.invalid/tool.bin")
    argv = ["apply", "--repo", str(site.repo), "--root", str(site.root), "--state-dir", str(site.state), "--json"]
    done = run_tend(argv, env={"http_proxy": server.url(""), "no_proxy": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert server.requests == ["http://tend-test.invalid/tool.bin"]  # the proxy was asked for the whole URL
    assert site.path("/opt/tool.bin").read_bytes() == PAYLOAD


def test_url_errors_name_the_file_and_line(site: Site) -> None:
    for body, message in {
        "    source: https://example.org/x\n": "manifests/dl.yaml:3: file:/opt/x: a URL source needs checksum: sha256:",
        "    source: ftp://example.org/x\n    checksum: sha256:" + SHA + "\n":
            "manifests/dl.yaml:3: file:/opt/x: source 'ftp://example.org/x': a URL source must be https:// or http://",
        "    source: https://example.org/x\n    checksum: md5:abc\n":
            "manifests/dl.yaml:4: file:/opt/x: checksum 'md5:abc' must be sha256:<64 lowercase hex digits>",
        "    content: x\n    checksum: sha256:" + SHA + "\n":
            "manifests/dl.yaml:4: file:/opt/x: checksum goes with a URL source",
    }.items():  # fmt: skip
        declared = "resources:\n  - file: /opt/x\n" + body
        site.write({"data/common.yaml": "classes: [dl]\n", "manifests/dl.yaml": declared})
        run = site.apply(json_report=False)
        assert run.returncode == 1 and message in run.stderr, run.stderr

"""Fleet evidence from Prometheus's HTTP API (`/api/v1/query`, standard library only), matched on `host`."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from agent.errors import HostError
from agent.pipeline.evidence import HostEvidence

# The §8.4 series the evidence is built from; every one carries `host` (the inventory name), which tend
# matches, never Prometheus's `instance`.
SERIES = (
    "tend_bundle_info",
    "tend_bundle_converged_since_timestamp_seconds",
    "tend_bundle_refused",
    "tend_checks",
    "tend_last_run_timestamp_seconds",
    "tend_last_run_success",
    "tend_resources",
)
QUERY = '{__name__=~"' + "|".join(SERIES) + '",host!=""}'


class Prometheus:
    """One Prometheus server; `read` is one instant query for every tend series."""

    def __init__(self, url: str, *, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, expression: str) -> list[dict[str, Any]]:
        """An instant query's result vector (each item: `metric` labels and `value` [time, "number"])."""
        body = urllib.parse.urlencode({"query": expression}).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/query", data=body, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = _error_of(error.read())
            raise HostError(f"Prometheus refused the query {expression!r}: HTTP {error.code}{detail}",
                            subject=self.url) from None  # fmt: skip
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise HostError(f"cannot reach Prometheus: {reason}", subject=self.url) from None
        except ValueError:
            raise HostError("Prometheus answered with something that is not JSON", subject=self.url) from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if answer.get("status") != "success" or not isinstance(data, dict):
            raise HostError(f"Prometheus query {expression!r} failed: {answer.get('error')}", subject=self.url)
        result = data.get("result")
        return result if data.get("resultType") == "vector" and isinstance(result, list) else []

    def read(self, hosts: Iterable[str]) -> dict[str, HostEvidence]:
        wanted = set(hosts)
        by_host: dict[str, list[tuple[Mapping[str, str], float]]] = {}
        for sample in self.query(QUERY):
            labels = sample.get("metric") or {}
            host = labels.get("host")
            if host in wanted:
                by_host.setdefault(host, []).append((labels, float(sample["value"][1])))
        return {host: evidence_of(host, samples) for host, samples in by_host.items()}


def evidence_of(host: str, samples: list[tuple[Mapping[str, str], float]]) -> HostEvidence:
    """One host's samples (labels, value) as evidence."""
    values: dict[tuple[str, str], float] = {}
    info: Mapping[str, str] = {}
    refused = None
    for labels, value in samples:
        name = labels.get("__name__", "")
        if name == "tend_bundle_info" and value:
            info = labels
        elif name == "tend_bundle_refused" and value:
            refused = labels.get("commit")
        else:
            detail = labels.get("result") or labels.get("status") or ""
            values[(name, detail)] = max(value, values.get((name, detail), value))
    success_value = values.get(("tend_last_run_success", ""))
    success = None if success_value is None else success_value >= 1
    changed = int(values.get(("tend_resources", "changed"), 0))
    status = None if success is None else ("failed" if not success else ("changed" if changed else "unchanged"))
    return HostEvidence(
        host=host,
        last_run=_time(values.get(("tend_last_run_timestamp_seconds", ""))),
        success=success,
        status=status,
        commit=info.get("commit") or None,
        signer=info.get("signer") or None,
        stage=info.get("stage") or None,
        converged_since=_time(values.get(("tend_bundle_converged_since_timestamp_seconds", ""))),
        checks_passed=int(values.get(("tend_checks", "passed"), 0)),
        checks_failed=int(values.get(("tend_checks", "failed"), 0)),
        failed=int(values.get(("tend_resources", "failed"), 0)),
        drifted=int(values.get(("tend_resources", "drifted"), 0)),
        changed=changed,
        refused=refused,
    )


def _time(seconds: float | None) -> datetime | None:
    return None if not seconds else datetime.fromtimestamp(seconds, UTC)


def _error_of(body: bytes) -> str:
    try:
        return f": {json.loads(body).get('error')}"
    except (ValueError, AttributeError):
        return ""

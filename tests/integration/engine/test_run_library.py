"""agent.run called as a library, in process: it prints nothing, tells through its Notifier, returns the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.reports.model import Report, ResourceResult
from agent.reports.store import ReportStore
from agent.run.converge import converge
from agent.run.notify import Notifier
from agent.run.request import ConvergeRequest
from agent.settings import AgentSettings, StatePaths
from tests.integration.engine.conftest import Site


def test_a_converge_prints_nothing_and_tells_its_notifier(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [app]\n",
            "manifests/app.yaml": "resources:\n  - file: /etc/app.conf\n    content: one\n",
        }
    )
    (site.state).mkdir()
    (site.state / "state.json").write_text("not json")
    told: list[tuple[str, object]] = []
    notify = Notifier(
        warning=lambda text: told.append(("warning", text)),
        note=lambda text: told.append(("note", text)),
        result=lambda result: told.append(("result", result)),
        converged=lambda report: told.append(("converged", report)),
    )
    settings = AgentSettings(state=StatePaths(site.state))
    request = ConvergeRequest(
        site.repo, host="web1", facts={"hostname": "web1"}, root=site.root, detailed_exitcodes=True
    )

    done = converge(settings, request, notify, stop=lambda: False)

    assert capsys.readouterr() == ("", "")
    assert done.exit_code(detailed=True) == 2 and done.signal == 0
    assert [kind for kind, _ in told] == ["warning", "result", "converged"]
    assert "state.json is damaged (not JSON: " in str(told[0][1])
    result = told[1][1]
    assert isinstance(result, ResourceResult) and result.id == "file:/etc/app.conf"
    report = told[2][1]
    assert isinstance(report, Report) and report is done.report and report.state_damaged
    assert ReportStore(site.state / "reports").load("last") == report.to_json(detailed=True)
    assert site.path("/etc/app.conf").read_text() == "one"


def test_a_request_is_a_frozen_value(tmp_path: Path) -> None:
    request = ConvergeRequest(tmp_path, host="web1", facts={})
    with pytest.raises(AttributeError):
        request.noop = True  # type: ignore[misc]

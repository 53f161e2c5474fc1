"""The audit as one self-contained HTML page: the matrix, sortable and filterable, no script from anywhere."""

from __future__ import annotations

import html
import json
from typing import Any

from agent.cli.secrets_audit import accepted_lines, mark, problem_lines

_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:center}
th{background:#f3f3f3;cursor:pointer;white-space:nowrap}td.value{text-align:left;font-family:monospace}
td.ok{background:#e8f5e9}td.admin{background:#eef3fb}td.accepted{background:#fff6d6}
td.over,td.missing,td.unknown,td.cross_env{background:#ffdede;font-weight:bold}
.filters{margin:.8em 0}.filters label{margin-right:1em}tr[hidden]{display:none}.problems li{margin:.2em 0}
"""

_SCRIPT = """
(function(){
  var table=document.getElementById('matrix'), rows=[].slice.call(table.tBodies[0].rows);
  var fields={host:document.getElementById('f-host'),file:document.getElementById('f-file'),
              flag:document.getElementById('f-flag')};
  function apply(){
    var host=fields.host.value, file=fields.file.value.toLowerCase(), flag=fields.flag.value;
    var col=host?[].slice.call(table.tHead.rows[0].cells).findIndex(function(c){return c.dataset.principal===host;}):-1;
    rows.forEach(function(r){
      var show=(!file||r.dataset.file.toLowerCase().indexOf(file)>=0)
        &&(!flag||r.dataset.flags.split(' ').indexOf(flag)>=0);
      if(show&&col>=0){show=r.cells[col].dataset.mark!=='';}
      r.hidden=!show;
    });
    location.hash=new URLSearchParams({host:host,file:fields.file.value,flag:flag}).toString();
  }
  var params=new URLSearchParams(location.hash.slice(1));
  Object.keys(fields).forEach(function(k){ if(params.get(k)) fields[k].value=params.get(k);
    fields[k].addEventListener('input',apply); fields[k].addEventListener('change',apply); });
  [].slice.call(table.tHead.rows[0].cells).forEach(function(th,i){
    th.addEventListener('click',function(){
      var dir=th.dataset.dir==='asc'?-1:1; th.dataset.dir=dir===1?'asc':'desc';
      rows.sort(function(a,b){return dir*(a.cells[i].dataset.sort||'').localeCompare(b.cells[i].dataset.sort||'');});
      rows.forEach(function(r){table.tBodies[0].appendChild(r);});
    });
  });
  apply();
})();
"""


def _cell(row: Any) -> str:
    """A principal's cell: the flag's name when flagged, else R/r (R*/r* when accepted across environments)."""
    shown = row.flag if row.flag != "ok" else mark(row)
    css = row.flag if row.flag != "ok" else "accepted" if row.accepted else "admin" if shown == "r" else "ok"
    title = f"{row.flag}: {', '.join(row.environments)}" + (f": {row.accepted}" if row.accepted else "")
    e = html.escape
    return f'<td class="{css}" data-mark="{e(shown)}" data-sort="{e(shown)}" title="{e(title)}">{e(shown)}</td>'


def render_html(audit: Any, fixes: dict[str, str]) -> str:
    """The page: principals as columns (hosts first), values as rows, a mark and a class per cell."""
    hosts = audit.usage.inventory.hosts
    principals = sorted({row.principal for row in audit.rows}, key=lambda p: (p not in hosts, p))
    cells: dict[tuple[str, str], Any] = {(f"{r.file}:{r.key}", r.principal): r for r in audit.rows}
    values = sorted({(r.file, r.key) for r in audit.rows})
    e = html.escape
    head = "".join(f'<th data-principal="{e(p)}">{e(p)}</th>' for p in principals)
    body = []
    for file, key in values:
        name = f"{file}:{key}"
        flags = sorted({cells[(name, p)].flag for p in principals if (name, p) in cells})
        row = [f'<td class="value" data-sort="{e(name)}">{e(name)}</td>']
        for principal in principals:
            cell = cells.get((name, principal))
            if cell is None:
                row.append('<td data-mark="" data-sort="">.</td>')
                continue
            row.append(_cell(cell))
        body.append(f'<tr data-file="{e(file)}" data-flags="{e(" ".join(flags))}">{"".join(row)}</tr>')
    problems = [f"<li>{e(line)}</li>" for line in problem_lines(audit, fixes)]
    accepted = [f"<li>{e(line)}</li>" for line in accepted_lines(audit)]
    options = "".join(f'<option value="{e(p)}">{e(p)}</option>' for p in principals)
    summary = audit.summary()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tend secrets audit</title>
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>{_STYLE}</style></head><body>
<h1>Who can read which secret</h1>
<p>{summary["values"]} values, {summary["hosts"]} hosts, {summary["admins"]} admins;
R: uses and can read, r: can read (admin), *: across environments, accepted, .: neither.</p>
<div class="filters">
<label>host <select id="f-host"><option value="">all</option>{options}</select></label>
<label>file <input id="f-file" placeholder="hieradata/…"></label>
<label>flag <select id="f-flag"><option value="">all</option><option>ok</option><option>over</option>
<option>missing</option><option>unknown</option><option>cross_env</option></select></label></div>
<table id="matrix"><thead><tr><th data-principal="">value</th>{head}</tr></thead>
<tbody>{"".join(body)}</tbody></table>
<h2>Problems</h2><ul class="problems">{"".join(problems) or "<li>none</li>"}</ul>
<h2>Accepted across environments</h2><ul class="accepted">{"".join(accepted) or "<li>none</li>"}</ul>
<script type="application/json" id="audit-data">{html.escape(json.dumps(audit.to_json()), quote=False)}</script>
<script>{_SCRIPT}</script>
</body></html>
"""

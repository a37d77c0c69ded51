"""The jobs page of `serve --http`: what vocluster is doing, in words, for a TOPCAT user.

Server-rendered HTML with a few lines of JavaScript that re-read `/jobs.json` every
second: each job's state, latest progress message, error, summary, result table and
plot; and a form for the options that the next table sent from TOPCAT runs with. No
front-end build, no external resources (the page works offline and leaks nothing).
"""

from __future__ import annotations

from html import escape

OPTION_FIELDS = (  # (SAMP parameter, label, input type / choices, hint)
    ("on-table", "A table sent from TOPCAT runs", ("members", "classify", "validate"),
     "validate: 10 simulated clusters injected into the table, completeness and "
     "contamination of a membership run with these settings"),
    ("method", "Method", ("", "auto", "mixture", "dec", "kmeans", "gmm", "hdbscan"),
     "empty: the daemon's default"),
    ("target", "Target cluster", "text", "a name, e.g. Pleiades; or the three values below"),
    ("pmra", "pmra (mas/yr)", "text", ""),
    ("pmdec", "pmdec (mas/yr)", "text", ""),
    ("parallax", "parallax (mas)", "text", ""),
    ("candidate", "Blind: candidate number", "text", "1 = the most significant"),
    ("threshold", "Membership threshold", "text", "0 < T < 1, default 0.5"),
)

SCRIPT = """
const states = {queued: "waiting", running: "running", done: "done", failed: "failed"};
function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}
function link(href, text) {
  const a = document.createElement("a");
  a.href = href; a.textContent = text;
  return a;
}
async function refresh() {
  let data;
  try { data = await (await fetch("jobs.json", {cache: "no-store"})).json(); }
  catch (e) { document.getElementById("offline").hidden = false; return; }
  document.getElementById("offline").hidden = true;
  const body = document.getElementById("jobs");
  body.replaceChildren();
  for (const job of data.jobs) {
    const tr = document.createElement("tr");
    tr.id = job.job_id; tr.className = "job " + job.state;
    tr.append(cell(job.job_id), cell(job.description), cell(states[job.state], "state"));
    const words = job.state === "failed" ? job.error :
                  (job.result.summary || job.message);
    tr.append(cell(words, job.state === "failed" ? "error" : "message"));
    const out = document.createElement("td");
    if (job.result.url) {
      const name = job.result.url.split("/").pop();
      out.append(link("results/" + name, "table"));
      if (job.result.members !== undefined) {
        out.append(" ");
        out.append(link("plots/" + name.replace(/\\.vot$/, ".png"), "plot"));
      }
    }
    tr.append(out);
    body.append(tr);
  }
  document.getElementById("current").textContent = data.options_text;
}
refresh();
setInterval(refresh, 1000);
"""

STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 72em; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; }
tr.failed td.error { color: #a00; }
tr.running td.state { color: #06c; }
form label { display: inline-block; width: 14em; }
.notice { padding: 0.5em; background: #eef; }
.problem { padding: 0.5em; background: #fee; color: #a00; }
"""


def options_text(options: dict[str, str]) -> str:
    chosen = ", ".join(f"{k}={v}" for k, v in options.items() if k != "on-table")
    return f"{options.get('on-table', 'members')}" + (f" with {chosen}" if chosen else
                                                       " with the daemon's defaults")


def _field(name: str, label: str, kind, hint: str, value: str) -> str:
    if isinstance(kind, tuple):
        choices = "".join(f'<option value="{escape(c)}"{" selected" if c == value else ""}>'
                          f'{escape(c or "default")}</option>' for c in kind)
        control = f'<select name="{name}" id="{name}">{choices}</select>'
    else:
        control = f'<input type="text" name="{name}" id="{name}" value="{escape(value)}">'
    note = f" <small>{escape(hint)}</small>" if hint else ""
    return f'<p><label for="{name}">{escape(label)}</label>{control}{note}</p>'


def jobs_page(options: dict[str, str], notice: str = "", problem: str = "") -> str:
    """The whole page; the job rows are filled in by the script from /jobs.json."""
    fields = "".join(_field(n, label, kind, hint, options.get(n, ""))
                     for n, label, kind, hint in OPTION_FIELDS)
    banner = (f'<p class="notice" id="notice">{escape(notice)}</p>' if notice else "") + (
        f'<p class="problem" id="problem">{escape(problem)}</p>' if problem else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vocluster jobs</title>
<style>{STYLE}</style></head>
<body>
<h1>vocluster jobs</h1>
<p id="offline" class="problem" hidden>vocluster is not answering.</p>
<table><thead><tr><th>job</th><th>what</th><th>state</th><th>progress, result or error</th>
<th>output</th></tr></thead><tbody id="jobs"></tbody></table>
<h2>Options for the next table sent from TOPCAT</h2>
{banner}
<p>Now: <span id="current">{escape(options_text(options))}</span></p>
<form method="post" action="options">{fields}
<p><button type="submit" id="save">Use these options</button></p></form>
<script>{SCRIPT}</script>
</body></html>
"""

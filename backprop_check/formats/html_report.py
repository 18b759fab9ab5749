"""`bpcheck grade --format html`: the class on one self-contained page.

One HTML file that needs nothing else: the CSS is inline, the charts are
inline SVG written here, there is no script, no font and no image to fetch,
and a Content-Security-Policy forbids the browser to load anything at all.
Per problem: the counts, a histogram of scores, the per-question table
(mean, share correct with a bar, discrimination: `class_stats`) and every
mistake with its count; then an index of files and a section per file with
each question's status, points and message, at the chosen feedback level.

Every string that a student or an unpinned problem controls is escaped for
HTML (`_text`), after `escape.line` (no control characters) and with
autolinks broken, so the page holds no http(s) address at all.
"""

from __future__ import annotations

import html
import re

from ..classroom import Summary
from ..grade import FileResult
from . import escape
from .class_summary import pct
from .redact import view

_SCHEME = re.compile(r"(?i)(?<=[a-z])(?=://)")
CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.25rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.correct{color:#1a7f37}.incorrect{color:#c62828}.invalid{color:#8e24aa}.missing{color:#b26a00}
.pass{color:#1a7f37;font-weight:bold}.fail{color:#c62828;font-weight:bold}
code,.msg{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-word}
svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#333}
"""
HIST_W, HIST_H, HIST_PAD = 440, 170, 24


def _text(value: object) -> str:
    """Any untrusted text as HTML: one line, no autolink, every markup character escaped."""
    return html.escape(_SCHEME.sub("\u200b", escape.line(value)), quote=True)


def render(results: list[FileResult], summary: Summary | None, feedback: str = "full") -> str:
    shown = escape.records(view(results, feedback), _text)
    body = ["<h1>bpcheck class report</h1>"]
    if summary is not None:
        body += _summary(summary, mistakes=feedback != "score")
    body += _index(shown) + [_file_section(i, r) for i, r in enumerate(shown)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>bpcheck class report</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _summary(s: Summary, mistakes: bool) -> list[str]:
    out = [f"<p id=\"class\">{s.files} files: {s.graded} graded, {s.passed} passed, "
           f"{s.errors} could not be graded.</p>"]
    for n, p in enumerate(s.problems):
        out += [f"<section class=\"problem\" id=\"problem-{n}\"><h2>Problem {_text(p.problem)}</h2>",
                f"<p>{p.graded} graded, {p.passed} passed; mean {pct(p.mean)}, median {pct(p.median)} "
                f"of {p.max_score:g} points.</p>", _histogram(p.histogram, p.problem), _questions(p)]
        if mistakes:
            out.append(_mistakes(p))
        out.append("</section>")
    if s.unreadable:
        out += ["<h2>Could not be graded</h2>", "<ul>"]
        out += [f"<li><code>{_text(f)}</code>: {_text(why)}</li>" for f, why in s.unreadable] + ["</ul>"]
    return out


def _histogram(bands: list, problem: str) -> str:
    """Scores in tenths of the maximum as an inline SVG bar chart."""
    peak = max((c for _, c in bands), default=0) or 1
    inner_w, inner_h = HIST_W - 2 * HIST_PAD, HIST_H - 2 * HIST_PAD
    step = inner_w / max(len(bands), 1)
    parts = [f"<svg class=\"histogram\" role=\"img\" width=\"{HIST_W}\" height=\"{HIST_H}\" "
             f"viewBox=\"0 0 {HIST_W} {HIST_H}\"><title>Scores of {_text(problem)}</title>",
             f"<line x1=\"{HIST_PAD}\" y1=\"{HIST_H - HIST_PAD}\" x2=\"{HIST_W - HIST_PAD}\" "
             f"y2=\"{HIST_H - HIST_PAD}\" stroke=\"#999\"/>"]
    for i, (label, count) in enumerate(bands):
        h = inner_h * count / peak
        x = HIST_PAD + i * step
        y = HIST_H - HIST_PAD - h
        parts.append(f"<rect class=\"bar\" x=\"{x + 2:.1f}\" y=\"{y:.1f}\" width=\"{step - 4:.1f}\" "
                     f"height=\"{h:.1f}\" fill=\"#4a78b5\"><title>{label}: {count}</title></rect>")
        parts.append(f"<text x=\"{x + step / 2:.1f}\" y=\"{y - 3:.1f}\" text-anchor=\"middle\">{count}</text>")
        parts.append(f"<text x=\"{x + step / 2:.1f}\" y=\"{HIST_H - HIST_PAD + 14:.1f}\" "
                     f"text-anchor=\"middle\">{10 * i}%</text>")
    parts.append("</svg>")
    return "".join(parts)


def _share_bar(share: float) -> str:
    return (f"<svg class=\"share\" width=\"80\" height=\"10\" viewBox=\"0 0 80 10\"><rect width=\"80\" height=\"10\" "
            f"fill=\"#eee\"/><rect width=\"{80 * share:.1f}\" height=\"10\" fill=\"#1a7f37\"/></svg>")


def _questions(p) -> str:
    rows = ["<table class=\"questions\"><thead><tr><th>question</th><th>points</th><th>mean</th>"
            "<th colspan=\"2\">correct</th><th>discrimination</th></tr></thead><tbody>"]
    for q in p.questions:
        disc = "—" if q.discrimination is None else f"{q.discrimination:+.2f}"
        rows.append(f"<tr><td><code>{_text(q.quantity)}</code></td><td class=\"num\">{q.max_score:g}</td>"
                    f"<td class=\"num\">{q.mean:.2f}</td><td class=\"num\">{pct(q.share_correct)}</td>"
                    f"<td>{_share_bar(q.share_correct)}</td><td class=\"num\">{disc}</td></tr>")
    rows.append("</tbody></table><p><small>Discrimination: the correlation (Pearson's r) between a question's "
                "score and the score on the rest of the problem; — when it is undefined.</small></p>")
    return "".join(rows)


def _mistakes(p) -> str:
    if not p.mistakes:
        return "<p>No diagnosed mistakes.</p>"
    rows = [f"<h3>Mistakes ({len(p.mistakes)} kinds)</h3><table class=\"mistakes\"><thead><tr><th>question</th>"
            "<th>mistake</th><th>count</th></tr></thead><tbody>"]
    rows += [f"<tr><td><code>{_text(q)}</code></td><td>{_text(t)}</td><td class=\"num\">{c}</td></tr>"
             for q, t, c in p.mistakes]
    return "".join(rows) + "</tbody></table>"


def _index(results: list[FileResult]) -> list[str]:
    rows = ["<h2>Files</h2><table class=\"files\"><thead><tr><th>file</th><th>student</th><th>problem</th>"
            "<th>score</th><th></th></tr></thead><tbody>"]
    for i, r in enumerate(results):
        verdict = "cannot grade" if r.error else ("pass" if r.passed else "fail")
        score = "" if r.error else f"{r.score:g}/{r.max_score:g}"
        rows.append(f"<tr><td><a href=\"#file-{i}\"><code>{r.file}</code></a></td><td>{r.student or ''}</td>"
                    f"<td>{r.problem or ''}</td><td class=\"num\">{score}</td>"
                    f"<td class=\"{'fail' if verdict != 'pass' else 'pass'}\">{verdict}</td></tr>")
    return rows + ["</tbody></table>"]


def _file_section(i: int, r: FileResult) -> str:
    """One file's questions (its strings are already escaped by `render`)."""
    who = f" ({r.student})" if r.student else ""
    head = f"<section class=\"student\" id=\"file-{i}\"><h3><code>{r.file}</code>{who}</h3>"
    if r.error:
        return head + f"<p class=\"fail\">Cannot grade: {r.error}</p></section>"
    rows = [head, f"<p>{r.problem}: {r.score:g}/{r.max_score:g} points, "
                  f"<span class=\"{'pass' if r.passed else 'fail'}\">{'pass' if r.passed else 'below the pass mark'}"
                  "</span></p>"]
    rows += [f"<p>warning{f' (line {ln})' if ln else ''}: {m}</p>" for ln, m in r.warnings]
    rows.append("<table><thead><tr><th>question</th><th>status</th><th>points</th><th>message</th>"
                "<th>diagnosis</th></tr></thead><tbody>")
    rows += [f"<tr><td><code>{f.quantity}</code></td><td class=\"{f.status}\">{f.status}</td>"
             f"<td class=\"num\">{f.score:g}/{f.max_score:g}</td><td class=\"msg\">{f.message}</td>"
             f"<td>{', '.join(f.tags)}</td></tr>" for f in r.findings]
    return "".join(rows) + "</tbody></table></section>"

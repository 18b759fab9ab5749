"""The class summary in the terminal, in Markdown and in JSON: one block per problem.

Each problem (`class_stats.ProblemStats`) gets its own line of counts, mean
and median, a histogram of scores, a table of questions (mean points, share
correct, discrimination) and its mistakes with their counts. Files of
different problems are never added up. The terminal folds the mistakes past
`MISTAKES_SHOWN` into one line that says how many kinds and how many mistakes
it folded; Markdown, HTML and JSON list every one.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from . import escape
from .terminal import say

MISTAKES_SHOWN = 15
BAR = 20  # histogram bar length at the most common score band


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _disc(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"


def _class_line(s) -> str:
    return f"{s.graded} graded, {s.passed} passed, {s.errors} could not be graded ({s.files} files)"


def _problem_line(p) -> str:
    return (f"{p.graded} graded, {p.passed} passed; mean {_pct(p.mean)}, median {_pct(p.median)} "
            f"of {p.max_score:g} points")


# ------------------------------------------------------------------ terminal

def human(s, console: Console, mistakes: bool = True) -> None:
    say(console, Text(f"Class: {_class_line(s)}", style="bold"))
    for p in s.problems:
        console.print()
        say(console, Text.assemble(("Problem ", "bold"), (escape.line(p.problem), "bold cyan"),
                                   f": {_problem_line(p)}"))
        peak = max((c for _, c in p.histogram), default=0) or 1
        for label, count in p.histogram:
            console.print(Text(f"  {label:>8} {'█' * round(BAR * count / peak):<{BAR}} {count}"))
        _human_questions(p, console)
        if mistakes:
            _human_mistakes(p, console)
    if s.unreadable:
        console.print()
        say(console, Text(f"Could not be graded ({len(s.unreadable)}):", style="bold red"))
        for file, why in s.unreadable:
            say(console, f"{escape.line(file)}: {escape.line(why)}", indent=2, hang=4)


def _human_questions(p, console: Console) -> None:
    rows = [("question", "points", "mean", "correct", "discrimination")]
    rows += [(escape.line(q.quantity), f"{q.max_score:g}", f"{q.mean:.2f}", _pct(q.share_correct),
              _disc(q.discrimination)) for q in p.questions]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    if 2 + sum(widths) + 8 > console.width:  # a long question name: one question per wrapped line
        for q in rows[1:]:
            say(console, f"{q[0]}: {q[1]} points, mean {q[2]}, {q[3]} correct, discrimination {q[4]}", indent=2, hang=4)
        return
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        console.print(Text("  " + "  ".join(cells), style="bold" if i == 0 else ""), soft_wrap=True)


def _human_mistakes(p, console: Console) -> None:
    if not p.mistakes:
        return
    say(console, Text("Mistakes (most common first):", style="bold"), indent=2)
    for quantity, tag, count in p.mistakes[:MISTAKES_SHOWN]:
        say(console, f"{count:>5}  {escape.line(quantity)}: {escape.line(tag)}", indent=2, hang=9)
    rest = p.mistakes[MISTAKES_SHOWN:]
    if rest:
        say(console, Text(f"… and {len(rest)} more kinds of mistake ({sum(c for *_, c in rest)} mistakes in all); "
                          "--format html, markdown or json lists every one", style="dim"), indent=2, hang=4)


# ------------------------------------------------------------------ Markdown

def markdown(s, mistakes: bool = True) -> list[str]:
    md = escape.markdown
    one = len(s.problems) == 1
    head = f"**Class:** {s.graded} graded, {s.passed} passed, {s.errors} could not be graded"
    out = [head + (f"; mean {_pct(s.mean)}, median {_pct(s.median)}" if one else "") + "", ""]
    for p in s.problems:
        out += [f"#### Problem {md(p.problem)}: {_problem_line(p)}", "",
                "| question | points | mean | correct | discrimination |", "|---|---:|---:|---:|---:|"]
        out += [f"| {md(q.quantity)} | {q.max_score:g} | {q.mean:.2f} | {_pct(q.share_correct)} | "
                f"{_disc(q.discrimination)} |" for q in p.questions]
        out.append("")
        if mistakes and p.mistakes:
            out += ["| question | mistake | count |", "|---|---|---:|"]
            out += [f"| {md(q)} | {md(t)} | {c} |" for q, t, c in p.mistakes] + [""]
    if s.unreadable:
        out += ["Could not be graded:", ""] + [f"- {md(f)}: {md(why)}" for f, why in s.unreadable] + [""]
    return out


# ------------------------------------------------------------------ JSON (additions to FORMAT.md section 4)

def json_problems(s, mistakes: bool = True, text=escape.json_text) -> list[dict]:
    return [{"problem": text(p.problem), "max_score": p.max_score, "graded": p.graded, "passed": p.passed,
             "mean": p.mean, "median": p.median, "histogram": [{"band": b, "count": c} for b, c in p.histogram],
             "questions": [{"quantity": text(q.quantity), "max_score": q.max_score, "mean": q.mean,
                            "share_correct": q.share_correct, "statuses": q.statuses,
                            "discrimination": q.discrimination} for q in p.questions],
             "mistakes": [{"quantity": text(q), "tag": text(t), "count": c} for q, t, c in p.mistakes]
             if mistakes else []}
            for p in s.problems]

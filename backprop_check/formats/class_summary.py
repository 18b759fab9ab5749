"""The class summary in Markdown and in JSON (in the terminal: `report_human`): one block per problem.

Each problem (`class_stats.ProblemStats`) gets its own line of counts, mean
and median, a histogram of scores, a table of questions (mean points, share
correct, discrimination) and its mistakes with their counts. Files of
different problems are never added up. The terminal folds the mistakes past
`MISTAKES_SHOWN` into one line that says how many kinds and how many mistakes
it folded; Markdown, HTML and JSON list every one.
"""

from __future__ import annotations

from . import escape

MISTAKES_SHOWN = 15  # in the terminal (`report_human`)
BAR = 20  # histogram bar length at the most common score band


def pct(x: float) -> str:
    return f"{x:.0%}"


def disc(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"


def class_line(s) -> str:
    return f"{s.graded} graded, {s.passed} passed, {s.errors} could not be graded ({s.files} files)"


def problem_line(p) -> str:
    return (f"{p.graded} graded, {p.passed} passed; mean {pct(p.mean)}, median {pct(p.median)} "
            f"of {p.max_score:g} points")


# ------------------------------------------------------------------ Markdown

def markdown(s, mistakes: bool = True) -> list[str]:
    md = escape.markdown
    one = len(s.problems) == 1
    head = f"**Class:** {s.graded} graded, {s.passed} passed, {s.errors} could not be graded"
    out = [head + (f"; mean {pct(s.mean)}, median {pct(s.median)}" if one else "") + "", ""]
    for p in s.problems:
        out += [f"#### Problem {md(p.problem)}: {problem_line(p)}", "",
                "| question | points | mean | correct | discrimination |", "|---|---:|---:|---:|---:|"]
        out += [f"| {md(q.quantity)} | {q.max_score:g} | {q.mean:.2f} | {pct(q.share_correct)} | "
                f"{disc(q.discrimination)} |" for q in p.questions]
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

"""Make untrusted text safe to print, one function per output format.

Student-controlled text reaches every report: file names, `student:`, answers
quoted in messages, and (when answers files name their own problem) the
problem's id and names. Each format renders every such string through its
function here, and through nothing else:

- every format but JSON (whose own escaping is exact): one line. Control characters, line and paragraph separators
  (U+2028, U+2029, NEL), bidi controls (U+202E …) and lone surrogates (from
  file names that are not UTF-8) are shown as visible escapes (`\\n`,
  `\\u202e`), never as U+FFFD (which some JUnit viewers choke on); `::` and
  `##[` are broken with a zero-width space, so no line of any report, however
  it wraps, holds a GitHub workflow command that bpcheck did not write;
- Markdown (reports, the Actions step summary): also Markdown and HTML escaped;
- GitHub workflow commands: also %-encoded as the runner decodes them;
- CSV: also neutralised for spreadsheets (no cell begins a formula).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import replace
from typing import Callable

# C0 and C1 controls, DEL, line/paragraph separators, bidi controls and marks,
# BOM, noncharacters and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_COMMAND = re.compile(r":(?=:)|#(?=#\[)|#(?=#vso\[)", re.IGNORECASE)
_LINK = re.compile(r"(?<=[a-z])(?=://)|(?<=www)(?=\.)", re.IGNORECASE)  # where autolinks start
_MARKDOWN = re.compile(r"([\\`*_\[\]|#!~$])")
_FORMULA_START = ("=", "+", "-", "@")


def _visible(match: re.Match) -> str:
    ch = match.group()
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def line(value: object) -> str:
    """Any text as one safe line: the base of every format's escaping."""
    text = _UNSAFE.sub(_visible, str(value))
    # The Actions runner obeys `::command` at a line's start and the older `##[command]`
    # anywhere in a line: a zero-width space keeps both from being read as commands.
    return _break_commands(text)


def _break_commands(text: str) -> str:
    return _COMMAND.sub(lambda m: m.group() + "\u200b", text)


def json_text(value: object) -> str:
    """Text for the JSON report, kept as written but encodable.

    Lone surrogates (file names that are not UTF-8) cannot be encoded and are
    shown as escapes; `json_document` escapes what JSON itself leaves raw.
    """
    return _break_commands(_SURROGATE.sub(_visible, str(value)))  # `##[…]` is obeyed even inside JSON


def json_document(text: str) -> str:
    """Dumped JSON with the characters that JSON leaves raw but readers split
    lines on or reorder (NEL, U+2028, U+2029, bidi controls) written as \\u
    escapes: the same JSON value, and no line a student can start."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def markdown(value: object) -> str:
    """One line for Markdown: no markup, links, tables cells or raw HTML of the student's."""
    text = _LINK.sub("\u200b", line(value))  # no autolinks (https://…, www.…) of the student's
    return html.escape(_MARKDOWN.sub(r"\\\1", text), quote=False)


def github_data(value: object) -> str:
    """The message part of a workflow command (after `::`)."""
    return line(value).replace("%", "%25")


def github_property(value: object) -> str:
    """A property value of a workflow command (file=, title=)."""
    return github_data(value).replace(":", "%3A").replace(",", "%2C")


def csv_cell(value: object) -> str:
    """A gradebook cell that no spreadsheet runs as a formula.

    Spreadsheets trim leading blanks and fold fullwidth forms (＝, ＋), so the
    test is on the NFKC form with blanks stripped.
    """
    text = line(value)
    folded = unicodedata.normalize("NFKC", text).lstrip()
    if folded.startswith(_FORMULA_START) or folded != unicodedata.normalize("NFKC", text):
        return "'" + text
    return text


def records(results: list, escape: Callable[[object], str]) -> list:
    """Copies of the records with every string passed through one format's `escape`.

    Every renderer works on these copies only, so no student-controlled text
    (file names, `student:`, quoted answers, an unpinned problem's names)
    reaches a report unescaped.
    """
    def text(value):
        return escape(value) if isinstance(value, str) else value

    out = []
    for r in results:
        findings = [replace(f, quantity=text(f.quantity), message=text(f.message), got=text(f.got),
                            tags=[text(t) for t in f.tags]) for f in r.findings]
        out.append(replace(r, file=text(r.file), student=text(r.student), problem=text(r.problem),
                           error=text(r.error), findings=findings,
                           warnings=[(ln, text(m)) for ln, m in r.warnings]))
    return out

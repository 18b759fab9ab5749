"""The terminal: `bpcheck solve` and `bpcheck grade` within the width, colour by the conventions.

Every shipped problem (and a wide held-out network) is solved at 60, 80 and
120 columns (COLUMNS): no line is longer than the width, every entry of every
value (from `solve --format json`) is printed, every formula (from `solve
--format yaml`) is there unbroken. Colour follows --color/--no-color, then
NO_COLOR, then FORCE_COLOR, then whether the output is a terminal; a real
pseudo-terminal proves that the width follows the terminal with --no-color.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from rich.cells import cell_len
from rich.text import Text

from backprop_check.cli import main
from backprop_check.formats import matrix_text, terminal

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "problems").glob("*.yaml")) + sorted((ROOT / "problems" / "graphs").glob("*.yaml"))
ANSI = re.compile(r"\x1b\[")
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w.])")
CLEAN_ENV = {"NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": None, "TERM": "xterm-256color"}


def run(*args, env: dict | None = None):
    result = CliRunner().invoke(main, [*map(str, args)], env={**CLEAN_ENV, **(env or {})})
    assert "Traceback" not in result.output, result.output
    return result


def wide_network(tmp_path: Path) -> Path:
    """10 inputs, 8 hidden units, 3 outputs, 4 samples: rows of 10 entries at every width."""
    rng = np.random.default_rng(7)
    r = lambda *shape: np.round(rng.uniform(-1, 1, shape), 3).tolist()  # noqa: E731
    spec = {"bpcheck": 1, "id": "wide", "title": "A wide held-out network " + "with a long title " * 6,
            "network": {"layers": [{"weight": "W1", "bias": "b1", "activation": "sigmoid"},
                                   {"weight": "W2", "bias": "b2", "activation": "identity"}]},
            "params": {"W1": r(8, 10), "b1": r(8), "W2": r(3, 8), "b2": r(3)},
            "data": {"layout": "columns", "x": r(10, 4), "y": r(3, 4)},
            "loss": {"type": "mse"}, "train": {"lr": 0.1, "steps": 1}}
    path = tmp_path / "wide.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def problems(tmp_path_factory) -> list[Path]:
    return SHIPPED + [wide_network(tmp_path_factory.mktemp("wide"))]


def _entries(value) -> list[float]:
    return [float(v) for v in np.asarray(value, dtype=float).ravel()]


def _all_present(expected: list[float], text: str) -> list[float]:
    """The expected entries that no printed number stands for (each printed number stands for one)."""
    printed = sorted(float(t) for t in NUMBER.findall(text))
    used = [False] * len(printed)
    missing = []
    for v in sorted(expected):
        lo = np.searchsorted(printed, v - 1e-5 * abs(v) - 1e-12)
        for i in range(lo, len(printed)):
            if printed[i] > v + 1e-5 * abs(v) + 1e-12:
                break
            if not used[i]:
                used[i] = True
                break
        else:
            missing.append(v)
    return missing


@pytest.mark.parametrize("width", [60, 80, 120])
def test_solve_fits_the_width_and_prints_every_value(problems, width):
    for problem in problems:
        out = run("solve", problem, env={"COLUMNS": str(width)})
        assert out.exit_code == 0, (problem, out.output)
        too_long = [line for line in out.stdout.splitlines() if cell_len(line) > width]
        assert not too_long, (problem.name, too_long[:3])
        values = json.loads(run("solve", problem, "--format", "json").stdout)["quantities"]
        expected = [v for value in values.values() for v in _entries(value)]
        assert not _all_present(expected, out.stdout), (problem.name, _all_present(expected, out.stdout)[:5])
        records = yaml.safe_load(run("solve", problem, "--format", "yaml").stdout)["quantities"]
        flat = " ".join(out.stdout.split())
        for name, record in records.items():
            if "formula" in record:
                assert " ".join(record["formula"].split()) in flat, (problem.name, name, record["formula"])
            assert name in out.stdout


def test_wide_matrix_is_split_into_labelled_column_blocks(problems):
    out = run("solve", problems[-1], env={"COLUMNS": "60"}).stdout
    assert "columns 0–" in out and " of 10:" in out  # dl/dW1 is 8×10


def test_narrow_formula_is_stacked_not_squeezed():
    out = run("solve", ROOT / "problems" / "hinge-scores.yaml", env={"COLUMNS": "80"}).stdout
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if line.strip().startswith("dl/dy_hat"))
    assert lines[i + 1].strip().startswith("= (step(y_hat + 1")  # the formula under the name, whole
    continuation = lines[i + 2]
    assert continuation.startswith("      ") and continuation.strip()  # wrapped with its indent


# ------------------------------------------------------------------ matrices

def test_matrix_columns_align_with_one_precision():
    rows = matrix_text.lines([[0.458, -0.1205], [0.869, 12.5]])
    assert rows == ["[0.4580  -0.1205]", "[0.8690  12.5000]"]
    assert {len(r) for r in rows} == {len(rows[0])}


def test_zero_is_printed_as_zero_aligned_on_its_point():
    assert matrix_text.lines([[0.25, 0.0], [0.0, -0.5]]) == ["[0.25   0   ]", "[0     -0.50]"]


def test_scientific_for_the_whole_matrix_when_one_entry_needs_it():
    rows = matrix_text.lines([1.5e-7, 0.25])
    assert rows == ["[1.5e-07  2.5e-01]"]


def test_zeros_and_non_finite_entries_keep_their_own_texts_in_a_fixed_matrix():
    # the format comes from 0.5 alone (one decimal); zero, nan and -inf are written over it
    rows = matrix_text.lines([[0.5, float("nan")], [float("-inf"), 0.0]])
    assert rows == ["[ 0.5  nan]", "[-inf  0  ]"]


def test_scientific_digits_are_the_most_any_entry_needs():
    assert matrix_text.lines([2e-7, 1.25e-7, 3e-7]) == ["[2.00e-07  1.25e-07  3.00e-07]"]
    assert matrix_text.lines([[0.0], [-4e9]]) == ["[     0]", "[-4e+09]"]  # a zero is "0" in scientific


def test_plain_blocks_print_exactly_their_lines_between_styled_texts():
    buffer = io.StringIO()
    out = terminal.console(buffer, True)
    out.print(Text("head", style="cyan"), terminal.Plain(["  [1  2]", "  [3  4]"]), Text("tail"),
              sep="\n", soft_wrap=True)
    assert Text.from_ansi(buffer.getvalue()).plain == "head\n  [1  2]\n  [3  4]\ntail\n"
    assert "\x1b[36mhead" in buffer.getvalue()  # the styled text keeps its colour


@pytest.mark.parametrize("value", [[1e-300, 3.0], [123456789.0, 0.5], [float("nan"), 1.0, float("-inf")],
                                   [[1, 2], [3, 4]], 0.1 + 0.2])
def test_every_entry_reads_back_to_six_figures(value):
    text = " ".join(matrix_text.lines(value, 20))
    assert not _all_present([v for v in _entries(value) if np.isfinite(v)], text)


def test_column_blocks_keep_within_the_width():
    value = np.arange(40, dtype=float).reshape(2, 20) / 7
    rows = matrix_text.lines(value.tolist(), 30)
    assert max(len(r) for r in rows) <= 30
    assert not _all_present(_entries(value), " ".join(r for r in rows if r.startswith("[")))


# ------------------------------------------------------------------ colour

SEED = ROOT / "problems" / "graphs" / "vector-graph.yaml"


@pytest.mark.parametrize("env,flag,coloured", [
    ({}, None, False),  # not a terminal
    ({"FORCE_COLOR": "1"}, None, True),
    ({"NO_COLOR": "1"}, None, False),
    ({"NO_COLOR": ""}, None, False),  # empty: as if unset
    ({"FORCE_COLOR": ""}, None, False),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, None, False),  # the reader's own wish wins
    ({"NO_COLOR": "1"}, "--color", True),  # the command line wins
    ({"FORCE_COLOR": "1"}, "--no-color", False),
    ({}, "--color", True),
])
def test_colour_conventions(env, flag, coloured):
    args = ["solve", SEED] + ([flag] if flag else [])
    out = run(*args, env=env).stdout
    assert bool(ANSI.search(out)) == coloured, out[:200]


def test_grade_follows_the_same_conventions(tmp_path):
    key = tmp_path / "key.yaml"
    run("solve", SEED, "--key", key, "--format", "json")
    assert ANSI.search(run("grade", key, env={"FORCE_COLOR": "1"}).stdout)
    assert not ANSI.search(run("grade", key, "--no-color", env={"FORCE_COLOR": "1"}).stdout)
    assert not ANSI.search(run("grade", key, env={"NO_COLOR": "x"}).stdout)


def test_colour_does_not_change_the_width():
    plain = run("solve", SEED, "--no-color", env={"COLUMNS": "70"}).stdout
    coloured = ANSI.sub("", re.sub(r"\x1b\[[0-9;]*m", "", run("solve", SEED, "--color", env={"COLUMNS": "70"}).stdout))
    assert plain == coloured


def _on_a_terminal(args: list[str], columns: int, env: dict) -> str:
    """Run bpcheck with its standard output a pseudo-terminal of `columns` columns."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen([sys.executable, "-m", "backprop_check", *args], stdout=follower,
                            stderr=subprocess.PIPE, env={**environ, "TERM": "xterm-256color", **env})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_on_a_terminal_colour_by_default_and_no_color_keeps_its_width():
    coloured = _on_a_terminal(["solve", str(SEED)], 64, {})
    assert ANSI.search(coloured)
    plain = _on_a_terminal(["solve", str(SEED), "--no-color"], 64, {})
    assert not ANSI.search(plain)
    assert max(cell_len(line) for line in plain.splitlines()) <= 64
    assert plain == re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", coloured)
    assert not ANSI.search(_on_a_terminal(["solve", str(SEED)], 64, {"NO_COLOR": "1"}))

"""Write a Gradescope autograder zip for one problem (`bpcheck gradescope-bundle`).

The zip's root holds what Gradescope requires, `setup.sh` and
`run_autograder`, beside the spec (`problem.yaml`, pinned by its SHA-256 in
the settings) and `bpcheck-autograder.json`, the settings `run` reads. When
bpcheck runs from a source checkout (not yet on PyPI), the bundle also
carries a wheel of that checkout in `wheels/`, which `setup.sh` installs in
place of `bpcheck==<version>` from PyPI.

The options `grade` offers are read from the command itself when the bundle
is written (its `--student`, its `--feedback`): the bundle installs this
very version, so what it finds here is what will run there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import __version__
from ..errors import InputError
from ..specread import file_digest
from ..yamlsource import read_text
from . import CONFIG_NAME, PROBLEM_NAME

EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same bundle, byte for byte, from the same inputs
CHECKOUT_FILES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")
CHECKOUT_DIRS = ("backprop_check", "problems")


@dataclass(frozen=True)
class Settings:
    """What `run` needs to grade one submission; written as bpcheck-autograder.json."""

    problem_sha256: str = ""  # filled in by `build` from the file it bundles
    visibility: str = "visible"
    stdout_visibility: str = "hidden"  # stdout carries bpcheck's own log for the instructor
    test_visibility: str | None = None  # None: each test follows `visibility`
    output_format: str = "text"
    feedback: str = "hints"
    timeout: float = 60.0
    student_from: str = "email"
    student_option: bool = False  # does this bpcheck's grade take --student?
    feedback_option: bool = False  # ... and --feedback?
    problem: str = PROBLEM_NAME
    bpcheck: str = __version__


SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image: it installs bpcheck.
# Written by bpcheck gradescope-bundle {version}.
#
# What is installed, the first that exists:
#   1. the wheel (or sdist) in wheels/ of this zip (gradescope-bundle --wheel; the default from a checkout);
#   2. BPCHECK_REQUIREMENT below: bpcheck {version} from PyPI.
# To install another build, put its wheel in wheels/ (and nothing else there), or edit
# BPCHECK_REQUIREMENT, then zip the files again (the files, not their folder).
set -euo pipefail
cd "$(dirname "$0")"
BPCHECK_REQUIREMENT="bpcheck=={version}"

if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update && apt-get install -y --no-install-recommends python3 python3-pip
fi
shopt -s nullglob
bundled=(wheels/*.whl wheels/*.tar.gz)
if [ ${{#bundled[@]}} -gt 0 ]; then
    BPCHECK_REQUIREMENT="${{bundled[0]}}"
fi
# Newer Ubuntu images mark the system Python as externally managed: fall back to the flag pip asks for.
python3 -m pip install --no-cache-dir "$BPCHECK_REQUIREMENT" \
    || python3 -m pip install --no-cache-dir --break-system-packages "$BPCHECK_REQUIREMENT"
python3 -m backprop_check --version
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. Written by bpcheck gradescope-bundle {version}.
# BPCHECK_AUTOGRADER_ROOT (default /autograder) and BPCHECK_PYTHON (default python3) exist for testing.
ROOT="${{BPCHECK_AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{BPCHECK_PYTHON:-python3}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
cd "$ROOT" || true
"$PYTHON" -m backprop_check gradescope-run --root "$ROOT" --config "$ROOT/source/{config}"
# The last line of defence: whatever happened above, Gradescope gets a valid results.json.
if ! "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert isinstance(d, dict) and "score" in d' \
        "$RESULTS" 2>/dev/null; then
    cat > "$RESULTS" <<'EOF'
{{"score": 0, "output": "The autograder could not run bpcheck on this submission. Please tell your instructor.", "output_format": "text", "tests": []}}
EOF
fi
exit 0
"""


def grade_options() -> tuple[bool, bool]:
    """Does this bpcheck's `grade` take --student, and --feedback?"""
    from ..cli import main

    names = {p.name for p in main.commands["grade"].params}
    return "student" in names, "feedback" in names


def build(problem: Path, out: Path, settings: Settings, wheel: str = "auto") -> list[str]:
    """Write the zip at `out`; returns the names it holds, in order."""
    from ..spec import load_problem

    text = read_text(problem)
    load_problem(problem)  # a spec that does not load would fail every submission: refuse it now
    settings = replace(settings, problem_sha256=file_digest(text))
    files: list[tuple[str, bytes, int]] = [
        ("setup.sh", SETUP_SH.format(version=__version__).encode(), 0o755),
        ("run_autograder", RUN_AUTOGRADER.format(version=__version__, config=CONFIG_NAME).encode(), 0o755),
        (PROBLEM_NAME, text.encode("utf-8"), 0o644),
        (CONFIG_NAME, (json.dumps(asdict(settings), indent=2) + "\n").encode(), 0o644),
    ]
    with tempfile.TemporaryDirectory(prefix="bpcheck-bundle-") as tmp:
        package = _wheel(wheel, Path(tmp))
        if package is not None:
            files.append((f"wheels/{package.name}", package.read_bytes(), 0o644))
        _write_zip(out, files)
    return [name for name, _, _ in files]


def _write_zip(out: Path, files: list[tuple[str, bytes, int]]) -> None:
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data, mode in files:
                info = zipfile.ZipInfo(name, EPOCH)
                info.external_attr = (0o100000 | mode) << 16  # a regular file with its Unix mode
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", str(out)) from None


def _wheel(choice: str, tmp: Path) -> Path | None:
    """The package to bundle: `none`, a given file, or (`auto`) a wheel of this checkout."""
    if choice == "none":
        return None
    if choice != "auto":
        path = Path(choice)
        if not path.is_file() or not path.name.startswith("bpcheck-") or not path.name.endswith((".whl", ".tar.gz")):
            raise InputError("--wheel takes auto, none, or a bpcheck wheel (bpcheck-*.whl) or sdist "
                             "(bpcheck-*.tar.gz)", choice)
        return path
    root = checkout_root()
    return None if root is None else build_wheel(root, tmp)


def checkout_root() -> Path | None:
    """The source checkout bpcheck runs from, or None when it is installed from a package."""
    root = Path(__file__).resolve().parent.parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "bpcheck"' in pyproject.read_text(encoding="utf-8", errors="replace"):
        return root
    return None


def build_wheel(root: Path, tmp: Path) -> Path:
    """A wheel of the checkout at `root`, built from a clean copy (the checkout gets no build/ folder)."""
    source = tmp / "source"
    source.mkdir()
    for name in CHECKOUT_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, source / name)
    for name in CHECKOUT_DIRS:
        shutil.copytree(root / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--quiet",
                           "-w", str(tmp / "dist")], capture_output=True, text=True)
    built = sorted((tmp / "dist").glob("bpcheck-*.whl"))
    if done.returncode != 0 or not built:
        why = (done.stderr.strip().splitlines() or ["no wheel was written"])[-1]
        raise InputError(f"could not build a wheel of this checkout ({why}); give --wheel none to install "
                         f"bpcheck=={__version__} from PyPI, or --wheel with a wheel you built", str(root))
    return built[0]

"""Packaging: the wheel carries the example problems, LICENSE and the project's
metadata; installed from the wheel alone, `bpcheck examples` copies the problems
out and the README's first command runs on them; the sdist holds what its own
tests need and they pass in it. Builds use pip (wheel) and setuptools' own
build hooks (sdist), from a copy of the checkout."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from backprop_check.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = sorted(p.relative_to(ROOT / "problems") for p in (ROOT / "problems").rglob("*.yaml"))
IGNORED = shutil.ignore_patterns(".git", ".venv*", ".hypothesis", ".pytest_cache", ".benchmarks", "build", "dist",
                                 "*.egg-info", "__pycache__", "*.pyc")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("pkg") / "bpcheck"
    shutil.copytree(ROOT, copy, ignore=IGNORED)
    return copy


@pytest.fixture(scope="module")
def wheel(checkout) -> Path:
    out = checkout.parent / "wheels"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(checkout), "--no-deps", "-q", "-w", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    [built] = out.glob("bpcheck-*.whl")
    return built


def test_wheel_holds_examples_license_and_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        [meta] = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(z.read(meta))
        for rel in PROBLEMS:
            assert z.read(f"backprop_check/examples/{rel.as_posix()}") == (ROOT / "problems" / rel).read_bytes()
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)
    assert "License :: OSI Approved :: MIT License" in metadata.get_all("Classifier")
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues", "File formats"} <= set(urls)
    assert not any(n.startswith(("tests/", "fixtures/")) for n in names)


def test_examples_from_the_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))  # this wheel's bpcheck; its dependencies from this environment
    done = subprocess.run([sys.executable, "-m", "backprop_check", "examples"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    copied = sorted(p.relative_to(work / "problems") for p in (work / "problems").rglob("*.yaml"))
    assert copied == PROBLEMS
    where = subprocess.run([sys.executable, "-c", "import backprop_check; print(backprop_check.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True).stdout
    assert where.startswith(str(target))  # not the checkout's
    solved = subprocess.run([sys.executable, "-m", "backprop_check", "solve", "problems/assignment1-ex2.yaml",
                             "--format", "json"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert solved.returncode == 0, solved.stderr


def test_sdist_holds_its_tests_and_they_run(checkout, tmp_path):
    pytest.importorskip("setuptools")
    out = tmp_path / "dist"
    done = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                           "print(build_meta.build_sdist(sys.argv[1]))", str(out)],
                          cwd=checkout, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    [sdist] = out.glob("bpcheck-*.tar.gz")
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        names = {n.removeprefix(top + "/") for n in tar.getnames()}
        tar.extractall(tmp_path, filter="data")
    for needed in ("pyproject.toml", "LICENSE", "README.md", "MANIFEST.in", "action.yml", ".pre-commit-hooks.yaml",
                   "docs/FORMAT.md", "examples/github-classroom.yml", "tests/test_packaging.py",
                   "fixtures/writeups/seed-003.md", "problems/assignment1-ex2.yaml", "problems/graphs/vector-graph.yaml"):
        assert needed in names, needed
    assert not any("__pycache__" in n for n in names)
    unpacked = tmp_path / top
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_check_answers.py"],
                         cwd=unpacked, env=dict(os.environ, PYTHONPATH=str(unpacked)),
                         capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout[-2000:]


def test_examples_command_copies_and_keeps_changed_files(tmp_path):
    out = tmp_path / "mine"
    result = CliRunner().invoke(main, ["examples", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out) for p in out.rglob("*.yaml")) == PROBLEMS
    again = CliRunner().invoke(main, ["examples", str(out)])
    assert again.exit_code == 0 and f"{len(PROBLEMS)} files already there" in again.stdout
    changed = out / PROBLEMS[0]
    changed.write_text("# my edits\n")
    refused = CliRunner().invoke(main, ["examples", str(out)])
    assert refused.exit_code == 2 and "--force" in refused.output and changed.read_text() == "# my edits\n"
    forced = CliRunner().invoke(main, ["examples", str(out), "--force"])
    assert forced.exit_code == 0 and changed.read_bytes() == (ROOT / "problems" / PROBLEMS[0]).read_bytes()

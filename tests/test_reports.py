"""Every `bpcheck grade --format` on a class of three answers files.

JSON against FORMAT.md section 4, JUnit against an XML schema written here
(validated with lxml when it is installed, and always by a structural
validator), Gradescope's results.json, GitHub workflow commands and step
summary, Markdown, and the human report on and off a terminal. One student's
name and answers are hostile (markup, `]]>`, control characters, newlines,
`%`): every format must stay well-formed.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check.cli import GRADE_FORMATS, main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "problems" / "assignment1-ex2.yaml"
STATUSES = {"correct", "incorrect", "invalid", "missing"}
HOSTILE = '<script>alert("x")</script> ]]> & \x01\x0b\x1b[31mred\x1b[0m 100%\nsecond line, a:b'
ANSI = re.compile(r"\x1b\[")


def grade(*args, env: dict | None = None):
    result = CliRunner().invoke(main, ["grade", *map(str, args)], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def write_answers(path: Path, answers: dict, student: str, extra: str = "") -> Path:
    lines = ["bpcheck: 1", f"problem: {json.dumps(str(SEED))}", f"student: {json.dumps(student)}", "answers:"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in answers.items()]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def line_of(path: Path, quantity: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith(f"  {json.dumps(quantity)}:"):
            return i
    raise AssertionError(quantity)


@pytest.fixture(autouse=True)
def not_in_github_actions(monkeypatch):
    """`--format auto` and the step summary depend on these: keep runs hermetic."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("key")
    result = CliRunner().invoke(main, ["solve", str(SEED), "--key", str(folder / "key.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    return yaml.safe_load((folder / "key.yaml").read_text())["answers"]


@pytest.fixture
def klass(tmp_path, key) -> dict:
    """Three students: full marks; wrong, transposed and missing; hostile."""
    k = json.loads(json.dumps(key))
    alice = write_answers(tmp_path / "alice.answers.yaml", k, "alice")
    bob_answers = {**k, "loss": "0.5", "dl/dW1": [list(r) for r in zip(*k["dl/dW1"])]}
    del bob_answers["step1.W1"]
    bob = write_answers(tmp_path / "bob.answers.yaml", bob_answers, "bob", extra="points: 99\n")
    mallory_answers = {**k, "z2": HOSTILE, "loss": "<b>50%</b>]]>\x02"}
    mallory_answers["dl/dW2"] = [[float(v) * 2 for v in k["dl/dW2"][0]]]
    mallory = write_answers(tmp_path / "mallory.answers.yaml", mallory_answers, HOSTILE)
    return {"alice": alice, "bob": bob, "mallory": mallory}


def files(klass: dict) -> list:
    return [klass["alice"], klass["bob"], klass["mallory"]]


# ------------------------------------------------------------------ every format renders

@pytest.mark.parametrize("fmt", GRADE_FORMATS)
def test_every_format_renders_a_class(klass, fmt):
    result = grade(*files(klass), "--format", fmt)
    assert result.exit_code == 1, result.output  # bob and mallory are below full marks
    assert result.stdout.strip()
    # gradescope reports one submission and says so for a class
    assert result.stderr == "" or (fmt == "gradescope" and "one submission" in result.stderr)


@pytest.mark.parametrize("fmt", [f for f in GRADE_FORMATS if f not in ("auto", "human")])
def test_output_file_holds_what_stdout_would(klass, fmt, tmp_path):
    out = tmp_path / f"report.{fmt}"
    to_file = grade(klass["alice"], klass["bob"], "--format", fmt, "-o", out)
    to_stdout = grade(klass["alice"], klass["bob"], "--format", fmt)
    assert to_file.stdout == ""
    assert out.read_text(encoding="utf-8").strip() == to_stdout.stdout.strip()
    assert to_file.exit_code == to_stdout.exit_code == 1


# ------------------------------------------------------------------ JSON

def test_json_matches_format_section_4(klass):
    result = grade(*files(klass), "--format", "json")
    data = json.loads(result.stdout)
    assert isinstance(data["results"], list) and len(data["results"]) == 3
    for r, path in zip(data["results"], files(klass)):
        assert {"file", "student", "problem", "score", "max_score", "questions"} <= set(r)
        assert r["file"] == str(path)
        assert r["problem"] == "assignment1-ex2"
        assert isinstance(r["score"], (int, float)) and isinstance(r["max_score"], (int, float))
        assert r["max_score"] == 12
        assert r["score"] == pytest.approx(sum(q["score"] for q in r["questions"]))
        assert r["max_score"] == pytest.approx(sum(q["max_score"] for q in r["questions"]))
        assert len(r["questions"]) == 10
        for q in r["questions"]:
            assert {"quantity", "score", "max_score", "status", "message", "tags"} <= set(q)
            assert q["status"] in STATUSES
            assert isinstance(q["quantity"], str) and isinstance(q["message"], str)
            assert isinstance(q["tags"], list) and all(isinstance(t, str) for t in q["tags"])
            assert 0 <= q["score"] <= q["max_score"]
            assert (q["status"] == "correct") == (q["score"] == q["max_score"] > 0)
    alice, bob, mallory = data["results"]
    assert alice["student"] == "alice" and alice["score"] == 12
    bq = {q["quantity"]: q for q in bob["questions"]}
    assert bq["loss"]["status"] == "incorrect"
    assert bq["dl/dW1"]["status"] == "invalid" and "transposed" in bq["dl/dW1"]["tags"]
    assert bq["step1.W1"]["status"] == "missing"
    assert bob["score"] == 12 - 1 - 2 - 1
    assert mallory["student"] == HOSTILE  # kept as written: JSON escapes it
    mq = {q["quantity"]: q for q in mallory["questions"]}
    assert mq["z2"]["status"] == "invalid" and mq["loss"]["status"] == "invalid"
    assert mq["dl/dW2"]["status"] == "incorrect"


def test_json_is_ascii_safe_and_parses_with_hostile_text(klass):
    result = grade(klass["mallory"], "--format", "json")
    data = json.loads(result.stdout)  # control characters are escaped by JSON
    assert "\x01" not in result.stdout and "\x1b" not in result.stdout


# ------------------------------------------------------------------ JUnit

JUNIT_XSD = """\
<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:simpleType name="count">
    <xs:restriction base="xs:nonNegativeInteger"/>
  </xs:simpleType>
  <xs:simpleType name="seconds">
    <xs:restriction base="xs:decimal">
      <xs:minInclusive value="0"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="outcome">
    <xs:simpleContent>
      <xs:extension base="xs:string">
        <xs:attribute name="message" type="xs:string"/>
        <xs:attribute name="type" type="xs:string"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:sequence>
        <xs:choice minOccurs="0" maxOccurs="1">
          <xs:element name="skipped" type="outcome"/>
          <xs:element name="failure" type="outcome"/>
          <xs:element name="error" type="outcome"/>
        </xs:choice>
        <xs:element name="system-out" type="xs:string" minOccurs="0"/>
        <xs:element name="system-err" type="xs:string" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="classname" type="xs:string" use="required"/>
      <xs:attribute name="time" type="seconds" use="required"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="properties" minOccurs="0">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="property" minOccurs="0" maxOccurs="unbounded">
                <xs:complexType>
                  <xs:attribute name="name" type="xs:string" use="required"/>
                  <xs:attribute name="value" type="xs:string" use="required"/>
                </xs:complexType>
              </xs:element>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
        <xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="system-out" type="xs:string" minOccurs="0"/>
        <xs:element name="system-err" type="xs:string" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="count" use="required"/>
      <xs:attribute name="failures" type="count" use="required"/>
      <xs:attribute name="errors" type="count" use="required"/>
      <xs:attribute name="skipped" type="count" use="required"/>
      <xs:attribute name="time" type="seconds" use="required"/>
      <xs:attribute name="timestamp" type="xs:string"/>
      <xs:attribute name="hostname" type="xs:string"/>
      <xs:attribute name="id" type="xs:string"/>
      <xs:attribute name="package" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="count"/>
      <xs:attribute name="failures" type="count"/>
      <xs:attribute name="errors" type="count"/>
      <xs:attribute name="skipped" type="count"/>
      <xs:attribute name="disabled" type="count"/>
      <xs:attribute name="time" type="seconds"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""

_COUNT = re.compile(r"\d+")
_SECONDS = re.compile(r"\d+(\.\d*)?|\.\d+")


def structural_junit_check(root: ET.Element) -> None:
    """What JUNIT_XSD says, checked by hand (for machines without lxml)."""
    assert root.tag == "testsuites"
    assert set(root.attrib) <= {"name", "tests", "failures", "errors", "skipped", "disabled", "time"}
    for k in ("tests", "failures", "errors", "skipped", "disabled"):
        assert k not in root.attrib or _COUNT.fullmatch(root.attrib[k]), k
    for suite in root:
        assert suite.tag == "testsuite"
        assert {"name", "tests", "failures", "errors", "skipped", "time"} <= set(suite.attrib)
        assert set(suite.attrib) <= {"name", "tests", "failures", "errors", "skipped", "time",
                                     "timestamp", "hostname", "id", "package"}
        for k in ("tests", "failures", "errors", "skipped"):
            assert _COUNT.fullmatch(suite.attrib[k]), k
        assert _SECONDS.fullmatch(suite.attrib["time"])
        order = ["properties", "testcase", "system-out", "system-err"]
        tags = [c.tag for c in suite]
        assert all(t in order for t in tags), tags
        assert [order.index(t) for t in tags] == sorted(order.index(t) for t in tags)
        for case in suite.iter("testcase"):
            assert {"name", "classname", "time"} <= set(case.attrib) <= {"name", "classname", "time"}
            assert _SECONDS.fullmatch(case.attrib["time"])
            kids = [c.tag for c in case]
            outcomes = [t for t in kids if t in ("skipped", "failure", "error")]
            assert len(outcomes) <= 1
            rest = [t for t in kids if t not in ("skipped", "failure", "error")]
            assert all(t in ("system-out", "system-err") for t in rest), kids
            assert kids == outcomes + rest  # the outcome comes first
            for c in case:
                assert len(c) == 0  # text only
                if c.tag in ("skipped", "failure", "error"):
                    assert set(c.attrib) <= {"message", "type"}


def validate_junit(text: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))
    structural_junit_check(root)
    try:
        from lxml import etree
    except ImportError:
        return root
    schema = etree.XMLSchema(etree.fromstring(JUNIT_XSD.encode("utf-8")))
    doc = etree.fromstring(text.encode("utf-8"))
    assert schema.validate(doc), schema.error_log
    return root


def test_junit_schema_rejects_what_it_should():
    """The schema and the structural check are not vacuous."""
    bad = ['<testsuites><testsuite name="a" tests="1" failures="0" errors="0" skipped="0" time="0">'
           '<testcase name="x" time="0"/></testsuite></testsuites>',  # no classname
           '<testsuites><testsuite name="a" tests="1" failures="0" errors="0" time="0">'
           '<testcase name="x" classname="c" time="0"/></testsuite></testsuites>',  # no skipped
           '<testsuites><testsuite name="a" tests="1" failures="0" errors="0" skipped="0" time="0">'
           '<testcase name="x" classname="c" time="0"><failure/><error/></testcase></testsuite></testsuites>']
    for text in bad:
        with pytest.raises(AssertionError):
            validate_junit(text)


def test_junit_is_valid_and_counts_add_up(klass):
    result = grade(*files(klass), "--format", "junit")
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = validate_junit(result.stdout)
    suites = root.findall("testsuite")
    assert len(suites) == 3
    assert [s.get("name") for s in suites[:2]] == ["alice", "bob"]
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases) == 10
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases)
        for k in totals:
            totals[k] += int(suite.get(k))
    for k, v in totals.items():
        assert root.get(k) is None or int(root.get(k)) == v
    bob = {c.get("name"): c for c in suites[1].findall("testcase")}
    assert bob["loss"].find("failure") is not None
    assert bob["step1.W1"].find("failure").get("type") == "missing"
    assert bob["dl/dW1"].find("error") is not None and "transposed?" in bob["dl/dW1"].find("error").get("message")
    assert len(bob["z1"]) == 0  # correct: no outcome element
    assert all(len(c) == 0 for c in suites[0].findall("testcase"))


def test_junit_stays_well_formed_with_hostile_text(klass):
    result = grade(*files(klass), "--format", "junit")
    text = result.stdout
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text)  # XML 1.0 forbids them
    assert "<script>" not in text  # escaped, not markup
    assert "]]>" not in text.replace("]]&gt;", "")
    root = validate_junit(text)
    suite = root.findall("testsuite")[2]
    name = suite.get("name")
    assert name.startswith('<script>alert("x")</script> ]]> & ')  # round-trips through the parser
    assert "second line, a:b" in name
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    z2 = cases["z2"].find("error")
    assert "<script>" in z2.get("message") and "]]>" in z2.get("message")
    assert cases["loss"].find("error") is not None and "<b>50%</b>]]>" in cases["loss"].find("error").text


def test_junit_with_a_file_that_cannot_be_graded(klass, tmp_path):
    broken = tmp_path / "broken.answers.yaml"
    broken.write_text("answers: [1, 2\n")
    result = grade(klass["alice"], broken, "--format", "junit")
    assert result.exit_code == 2
    root = validate_junit(result.stdout)
    suite = root.findall("testsuite")[1]
    assert suite.get("errors") == "1" and suite.get("tests") == "1"
    assert "broken.answers.yaml" in suite.find("testcase/error").get("message")


# ------------------------------------------------------------------ Gradescope

GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format",
                  "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def check_gradescope(data: dict) -> None:
    assert set(data) <= GRADESCOPE_TOP, set(data) - GRADESCOPE_TOP
    assert isinstance(data["score"], (int, float))
    assert isinstance(data["output"], str)
    assert data.get("visibility", "visible") in VISIBILITY
    assert isinstance(data["tests"], list)
    for t in data["tests"]:
        assert set(t) <= GRADESCOPE_TEST, set(t) - GRADESCOPE_TEST
        assert isinstance(t["name"], str) and t["name"]
        assert isinstance(t["score"], (int, float)) and isinstance(t["max_score"], (int, float))
        assert 0 <= t["score"] <= t["max_score"]
        assert t["status"] in {"passed", "failed"}
        assert isinstance(t["output"], str)
        assert t.get("visibility", "visible") in VISIBILITY
        assert all(isinstance(x, str) for x in t.get("tags", []))
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))


@pytest.mark.parametrize("who, score", [("alice", 12), ("bob", 8), ("mallory", 8)])
def test_gradescope_results_json(klass, who, score):
    result = grade(klass[who], "--format", "gradescope")
    data = json.loads(result.stdout)
    check_gradescope(data)
    assert data["score"] == score
    assert len(data["tests"]) == 10
    assert sum(t["max_score"] for t in data["tests"]) == 12
    by = {t["name"]: t for t in data["tests"]}
    assert all((t["status"] == "passed") == (t["score"] == t["max_score"]) for t in data["tests"])
    if who == "bob":
        assert by["loss"]["status"] == "failed" and "0.5" in by["loss"]["output"]
        assert "transposed" in by["dl/dW1"]["output"]


def test_gradescope_for_a_class_renders_the_first_submission(klass):
    result = grade(klass["bob"], klass["alice"], klass["mallory"], "--format", "gradescope")
    data = json.loads(result.stdout)
    check_gradescope(data)
    assert data["score"] == 8  # bob's: Gradescope grades one submission per run


def test_gradescope_partial_scores_sum_up(tmp_path, key):
    spec = tmp_path / "p.yaml"
    spec.write_text(SEED.read_text() + "partial: entries\n")
    k = json.loads(json.dumps(key))
    k["z1"][0][0] = "9"
    k["dl/dW1"][0][0] = "9"
    f = tmp_path / "a.answers.yaml"
    f.write_text(f"bpcheck: 1\nproblem: p.yaml\nanswers: {json.dumps(k)}\n")
    data = json.loads(grade(f, "--format", "gradescope").stdout)
    check_gradescope(data)
    by = {t["name"]: t for t in data["tests"]}
    assert by["z1"]["score"] == pytest.approx(11 / 12) and by["z1"]["status"] == "failed"
    assert by["dl/dW1"]["score"] == pytest.approx(2 * 5 / 6)


# ------------------------------------------------------------------ GitHub

WORKFLOW_COMMAND = re.compile(r"^::(error|warning|notice)( [a-z]+=[^,:]*(,[a-z]+=[^,:]*)*)?::.*$")


def github_lines(text: str) -> list:
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    for line in lines:
        assert WORKFLOW_COMMAND.match(line), repr(line)
        assert "\r" not in line
    return lines


def properties(line: str) -> dict:
    head = line.split("::")[1]
    _, _, props = head.partition(" ")
    return dict(p.split("=", 1) for p in props.split(",")) if props else {}


def test_github_workflow_commands(klass):
    result = grade(*files(klass), "--format", "github")
    lines = github_lines(result.stdout)
    bob = str(klass["bob"])
    errors = [properties(line) | {"line_text": line} for line in lines if line.startswith("::error")]
    bob_errors = {p["title"]: p for p in errors if p.get("file") == bob}
    assert set(bob_errors) == {"loss%3A incorrect", "dl/dW1%3A invalid", "step1.W1%3A missing"}
    assert bob_errors["loss%3A incorrect"]["line"] == str(line_of(klass["bob"], "loss"))
    assert bob_errors["dl/dW1%3A invalid"]["line"] == str(line_of(klass["bob"], "dl/dW1"))
    assert "line" not in bob_errors["step1.W1%3A missing"]  # a missing answer has no line
    warnings = [line for line in lines if line.startswith("::warning")]
    assert any(properties(w)["file"] == bob and "points" in w for w in warnings)  # the ignored key
    notices = [line for line in lines if line.startswith("::notice")]
    assert len(notices) == 3
    assert notices[0].endswith("::alice: 12/12 points")
    assert not any(p.get("file") == str(klass["alice"]) for p in errors)


def test_github_line_of_a_block_style_answer(tmp_path, key):
    k = json.loads(json.dumps(key))
    k["dl/dW1"][2][1] = "0.5"
    text = yaml.safe_dump({"bpcheck": 1, "problem": str(SEED), "answers": k}, sort_keys=False, width=1000)
    f = tmp_path / "a.answers.yaml"
    f.write_text(text)
    lines = text.splitlines()
    key_line = next(i for i, line in enumerate(lines, 1) if line.startswith("  dl/dW1:"))
    entry_line = next(i for i, line in enumerate(lines, 1) if "'0.5'" in line)
    [err] = [line for line in github_lines(grade(f, "--format", "github").stdout) if line.startswith("::error")]
    assert properties(err)["line"] in (str(key_line), str(entry_line))


def test_github_escapes_newlines_and_percent(klass):
    result = grade(klass["mallory"], "--format", "github")
    lines = github_lines(result.stdout)
    [notice] = [line for line in lines if line.startswith("::notice")]
    data = notice.split("::", 2)[2]
    # The student's newline is shown as a visible "\\n", never sent as a line break.
    assert "100%25\\nsecond line, a:b" in data
    assert "%" not in data.replace("%25", "").replace("%0A", "").replace("%0D", "")
    for line in lines:
        message = line.split("::", 2)[2]
        assert re.fullmatch(r"([^%]|%25|%0A|%0D)*", message), line


def test_github_escapes_properties(tmp_path, key):
    folder = tmp_path / "odd, dir:name"
    folder.mkdir()
    f = write_answers(folder / "a.answers.yaml", {**key, "loss": "1"}, "x")
    result = grade(f, "--format", "github")
    lines = github_lines(result.stdout)
    [err] = [line for line in lines if line.startswith("::error")]
    assert properties(err)["file"] == str(f).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")


def test_github_file_error(tmp_path, klass):
    broken = tmp_path / "broken.answers.yaml"
    broken.write_text("answers:\n  z1: [1,\n")
    result = grade(klass["alice"], broken, "--format", "github")
    assert result.exit_code == 2
    lines = github_lines(result.stdout)
    assert any(line.startswith("::error") and properties(line)["file"] == str(broken) for line in lines)


def test_github_step_summary_is_appended(klass, tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = grade(*files(klass), "--format", "github")
    github_lines(result.stdout)  # the summary goes to the file, not stdout
    text = summary.read_text()
    assert text.startswith("# earlier step\n")
    md = text[len("# earlier step\n"):]
    assert "### alice: 12/12 points" in md and "### bob: 8/12 points" in md
    assert "| quantity | status | points | message | diagnosis |" in md
    assert "| loss | incorrect | 0/1 |" in md
    assert "**Class:** 3 graded, 1 passed" in md


def test_no_step_summary_for_other_formats(klass, tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    grade(*files(klass), "--format", "json")
    assert not summary.exists()


def test_auto_format_picks_github_in_actions(klass, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = grade(*files(klass))
    github_lines(result.stdout)
    assert "### alice" in summary.read_text()
    assert grade(*files(klass), "--format", "auto").stdout == result.stdout


def test_auto_format_is_human_elsewhere(klass):
    auto = grade(*files(klass)).stdout
    assert not auto.startswith("::")
    assert auto == grade(*files(klass), "--format", "human").stdout


# ------------------------------------------------------------------ Markdown

def test_markdown(klass):
    result = grade(*files(klass), "--format", "markdown")
    md = result.stdout
    assert "### alice: 12/12 points (pass)" in md
    assert "### bob: 8/12 points (below the pass mark)" in md
    assert "| dl/dW1 | invalid | 0/2 |" in md
    assert "**Class:** 3 graded, 1 passed" in md
    per_file = md.split("**Class:**")[0]
    for line in per_file.splitlines():
        if line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) == 7, line  # no cell breaks the table


# ------------------------------------------------------------------ human

def test_human_is_plain_text_off_a_terminal(klass):
    result = grade(klass["alice"], klass["bob"])
    out = result.stdout
    assert not ANSI.search(out)
    assert "12/12 points" in out and "PASS" in out and "FAIL" in out
    assert "transposed?" in out
    assert "warning (line" in out and "'points'" in out


def test_human_shows_the_diff_table(klass):
    out = grade(klass["bob"]).stdout
    header = next(line for line in out.splitlines() if "entry" in line and "submitted" in line)
    for column in ("entry", "expected", "submitted", "abs err", "rel err"):
        assert column in header
    row = next(line for line in out.splitlines() if line.strip().startswith("·"))  # the scalar loss
    assert "0.5" in row and "0.491612" in row


def test_human_folds_large_matrices(tmp_path, key):
    spec = tmp_path / "p.yaml"
    spec.write_text(SEED.read_text())
    k = json.loads(json.dumps(key))
    k["z1"][0][0] = "9"  # 1 of 12 wrong: 12 entries are shown (fold above 12)
    f = tmp_path / "a.answers.yaml"
    f.write_text(f"bpcheck: 1\nproblem: p.yaml\nanswers: {json.dumps(k)}\n")
    out = grade(f).stdout
    assert "[0, 0]" in out and "[2, 3]" in out


def test_color_forces_ansi(klass):
    out = grade(klass["alice"], klass["bob"], "--color").stdout
    assert ANSI.search(out)
    plain = grade(klass["alice"], klass["bob"], "--no-color").stdout
    assert not ANSI.search(plain)
    assert "expected" in plain and "submitted" in plain


def test_human_to_a_file_is_plain(klass, tmp_path):
    out = tmp_path / "report.txt"
    result = grade(klass["bob"], "-o", out)
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "bob" in text and "expected" in text and not ANSI.search(text)


@pytest.mark.parametrize("args", [["--format", "human"], ["--format", "human", "--no-color"],
                                  ["--format", "markdown"], ["--format", "github"]],
                         ids=["human", "human-no-color", "markdown", "github"])
def test_student_escapes_do_not_reach_the_report(klass, tmp_path, args):
    out = tmp_path / "report"
    grade(klass["mallory"], *args, "-o", out)
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", text)


def test_markdown_class_line_counts_files_that_cannot_be_graded(klass, tmp_path):
    broken = tmp_path / "broken.answers.yaml"
    broken.write_text("answers: [1, 2\n")
    md = grade(klass["alice"], klass["bob"], broken, "--format", "markdown").stdout
    # alice 12/12, bob 8/12: mean (1 + 2/3) / 2 = 83%, median the same for two files
    assert "**Class:** 2 graded, 1 passed, 1 could not be graded; mean 83%, median 83%" in md

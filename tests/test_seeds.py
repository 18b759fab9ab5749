"""The seeds' real answers, transcribed, get the outcomes written in expected.yaml."""

from pathlib import Path

import pytest
import yaml

from backprop_check.classroom import Grader

SEEDS = Path(__file__).parent.parent / "fixtures" / "seeds"
EXPECTED = yaml.safe_load((SEEDS / "expected.yaml").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_transcription(name):
    result = Grader().grade(SEEDS / name)
    assert result.error is None
    found = {f.quantity: f for f in result.findings}
    want = EXPECTED[name]
    if want.get("all") == "correct":
        assert [f.quantity for f in result.findings if f.status != "correct"] == []
        assert result.score == result.max_score and result.passed
        return
    for quantity, outcome in want.items():
        assert found[quantity].status == outcome["status"], (quantity, found[quantity].message)
        if "tags" in outcome:
            assert found[quantity].tags == outcome["tags"], quantity


def test_seed_001_diagonal_is_accepted_with_a_note():
    # issue 10: an elementwise Jacobian answered by its diagonal is correct, with a note
    # (was: invalid with the hint "the diagonal only?", which `diagonal_jacobian: false` keeps)
    result = Grader().grade(SEEDS / "001-p1.answers.yaml")
    finding = next(f for f in result.findings if f.quantity == "dz2/dz1")
    assert finding.status == "correct" and finding.tags == ["diagonal-jacobian"]
    assert "diagonal" in finding.message

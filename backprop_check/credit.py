"""Instructor-authored credit and feedback for diagnosed mistakes (issue 10).

A spec may give, per problem or per question (the question's entries win tag
by tag),

    credit:   {transposed: 0.5, factor-2: 0.25}
    feedback: {transposed: "dl/dW has the shape of W."}

`credit` gives that share of the question's points to an answer that is
wrong (incorrect, or invalid for its shape) and diagnosed with the tag;
`feedback` adds the instructor's message to every finding that carries the tag,
conventions included (a note to a correct answer). This is what WeBWorK's
AnswerHints and STACK's response trees do for a known wrong answer.

The tags are data here (the spec reader validates against them without
importing the grader); tests hold MISTAKE_TAGS equal to `diagnose.TAGS`.
"""

from __future__ import annotations

from fractions import Fraction

# diagnose.CATALOGUE's tags; equivalence's formula diagnoses and fit_shape's hints use the same
MISTAKE_TAGS = ("sign-flipped", "transposed", "factor-2", "mean-vs-sum", "activation-derivative-missing",
                "derivative-at-output", "bias-not-summed", "step-up", "learning-rate", "relu-grad-at-zero",
                "power-of-ten", "rounding-carried")
# conventions a correct answer may carry: conventions.TAGS (tests hold them equal)
CONVENTION_TAGS = ("orientation", "diagonal-jacobian", "outer-product")
FEEDBACK_TAGS = MISTAKE_TAGS + CONVENTION_TAGS
MAX_FEEDBACK = 500  # characters of one message
WRONG = ("incorrect", "invalid")


def merged(problem_level: dict | None, question_level: dict | None) -> dict:
    """The problem's mapping with the question's entries over it."""
    return {**(problem_level or {}), **(question_level or {})}


def apply(finding, shares: dict, messages: dict) -> None:
    """Give `finding` the instructor's credit for its diagnosed mistake, and their feedback.

    The best share among the finding's tags counts (one mistake is credited once);
    credit never lowers a score that partial credit already gave.
    """
    tags = list(finding.tags)
    if finding.status in WRONG:
        credited = [(Fraction(shares[t]), t) for t in tags if t in shares]
        if credited:
            share, tag = max(credited)
            points = finding.max_score * float(share)
            if points > finding.score:
                finding.score = points
                finding.message += f"; {_share(share)} of the points for this mistake ({tag}, instructor's credit)"
    notes = [messages[t] for t in dict.fromkeys(tags) if t in messages]
    if notes:
        finding.message += "; " + " ".join(notes)


def _share(share: Fraction) -> str:
    return f"{float(share):.4g}"

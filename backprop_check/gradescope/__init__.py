"""Gradescope autograders: `bundle` writes the zip an instructor uploads,
`run` is what that zip's `run_autograder` calls for every submission.

Gradescope's contract (its "autograder specification"): the zip holds
`setup.sh` (run once, when the image is built) and `run_autograder` (run per
submission, working directory /autograder); the submission is in
/autograder/submission, its metadata in /autograder/submission_metadata.json,
and the only thing Gradescope reads back is /autograder/results/results.json.
"""

# The settings a bundle carries from `bpcheck gradescope-bundle` to `run` (bpcheck-autograder.json).
CONFIG_NAME = "bpcheck-autograder.json"
PROBLEM_NAME = "problem.yaml"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
# Only formats in which student text stays text: html and simple_format would render it.
OUTPUT_FORMATS = ("text", "md")
STUDENT_KEYS = ("email", "id")

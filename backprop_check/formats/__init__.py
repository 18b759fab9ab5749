"""Renderers: each turns plain records (a Solution, grading results) into text.

`solution` renders what `bpcheck solve` prints; rich is used for the human
format only, every machine format is built from builtin types.
"""

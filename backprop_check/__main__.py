"""`python -m backprop_check` runs the CLI."""

from .cli import main

main()

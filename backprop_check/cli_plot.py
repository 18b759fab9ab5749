"""`bpcheck plot`: draw activations and their derivatives (homework's "draw ReLU, GELU, …").

    bpcheck plot relu leaky_relu softplus gelu -o activations.svg
    bpcheck plot "leaky_relu(z, 0.1)" "z*sigmoid(z)" --format tikz -o acts.tex
    bpcheck plot --problem problems/dsga1008-2022-p1.yaml -o acts.svg   (the problem's own)

Each activation is a name of the spec format's activations or a formula in z,
read as a spec's activation is; the curves are sampled from that one
definition (`formats.activation_plots`). SVG is self-contained; `--format
tikz` writes a LaTeX document with pgfplots (texlive-pictures).
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _emit, _guarded
from .errors import InputError

MAX_PLOTS = 24


@click.command(name="plot")
@click.argument("activations", nargs=-1)
@click.option("--problem", type=click.Path(dir_okay=False, path_type=Path),
              help="Plot this problem's activations (after any named ones).")
@click.option("--format", "fmt", type=click.Choice(("svg", "tikz")), default="svg", show_default=True,
              help="svg: a self-contained SVG; tikz: a LaTeX document with pgfplots.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the output to this file instead of standard output.")
@_guarded
def plot_command(activations: tuple, problem: Path | None, fmt: str, output: Path | None) -> None:
    """Plot ACTIVATIONS (relu, gelu, "leaky_relu(z, 0.1)", …) and their derivatives."""
    from .formats import activation_plots as plots
    from .formats import drawing_svg, drawing_tex

    chosen = [plots.parse(a) for a in activations]
    title = "Activations and their derivatives"
    if problem is not None:
        from .spec import load_problem

        p = load_problem(problem)
        chosen += plots.activations_of(p)
        title = p.title
    if not chosen:
        raise InputError("nothing to plot: name activations (relu gelu …) or give --problem with some")
    if len(chosen) > MAX_PLOTS:
        raise InputError(f"{len(chosen)} activations: at most {MAX_PLOTS} plots at once")
    if fmt == "svg":
        _emit(output, drawing_svg.plots_svg(chosen, title))
    else:
        _emit(output, drawing_tex.standalone(drawing_tex.activation_plots_tikz(None, chosen)))

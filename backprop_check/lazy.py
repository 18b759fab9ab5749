"""sympy, imported where it is first used rather than where it is named.

Grading needs float64 values and formula trees only; importing sympy (and
mpmath with it) costs more than the rest of a grading run. Modules that
define operations with sympy forms (`ops`, `activations`, `losses`,
`elementwise`) name `sp` from here: the first attribute read imports sympy,
and each attribute is then kept on the proxy, so later reads cost what a
module attribute costs.
"""

from __future__ import annotations


class _Sympy:
    def __getattr__(self, name: str):
        import sympy

        value = getattr(sympy, name)
        setattr(self, name, value)  # found directly next time: __getattr__ runs only on a miss
        return value


sp = _Sympy()

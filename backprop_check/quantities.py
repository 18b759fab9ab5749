r"""The names of the quantities a problem defines, their groups and aliases.

For L layers, layer l gives z{2l-1} = W_l a + b_l and z{2l} = f_l(z{2l-1});
z{2L} is also y_hat. This module lists every quantity a problem defines in
solution-sheet order, and turns any accepted spelling (`z4`, `dl/dz4`,
`dl/dS1` via a display alias, `Y_out`) into its canonical name.

Students name quantities their own way (FORMAT.md section 8): `normalise_name`
turns `W_1`, `W^{(1)}`, `W^{[1]}`, `∂ℓ/∂W1`, `dL/dW1`, `dJ/dW1`, `\hat{y}` and
LaTeX such as `\frac{\partial \mathcal{L}}{\partial W_1}` into the spelling
used here (`W1`, `dl/dW1`, `y_hat`); it is the one place for that rule, and
formulas' names go through it too. `read_name` first hands LaTeX to
`latex_syntax.translate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


_PREFIX = re.compile(r"(step|sample)([1-9]\d{0,4})\.(.+)")
_GRAD = re.compile(r"dl/d(.+)")
_JAC = re.compile(r"d([^/]+)/d(.+)")
_Z = re.compile(r"z([1-9]\d{0,3})")
MAX_NAME = 300  # longer keys are not names anyone writes: left as they are

# (pattern, replacement), applied in order; LaTeX of names only, nothing is evaluated
_NAME_RULES = [(re.compile(p), r) for p, r in (
    (r"\$|\\[,;!:]|\\left|\\right|\\displaystyle", ""),
    (r"\\(?:mathcal|mathbf|mathbb|mathrm|mathit|mathsf|boldsymbol|bm|operatorname|text)\s*\{([^{}]*)\}", r"\1"),
    (r"\\(?:hat|widehat)\s*\{\s*([A-Za-z])\s*\}|\\hat\s*([A-Za-z])", r"\1\2_hat"),
    (r"\\ell(?![A-Za-z])|ℓ", "l"),
    (r"\\partial\s*|∂", "d"),
    (r"\\(alpha|beta|gamma|delta|eta|sigma|theta|lambda|mu|nu|tau|phi|psi|omega)(?![A-Za-z])", r"\1"),
    (r"\^\s*\{\s*[\(\[]\s*(\d+)\s*[\)\]]\s*\}|\^\s*[\(\[]\s*(\d+)\s*[\)\]]", r"\1\2"),  # W^{(1)}: layer 1
    (r"_\s*\{\s*([A-Za-z0-9]+)\s*\}", r"_\1"),
    (r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"\1/\2"),
    (r"\s+", ""),
    (r"ŷ|Ŷ", "y_hat"),
    # W_1 -> W1 (also in dl/dW_1, dz_2/dz_1), not delta_2
    (r"(^d|^|[^A-Za-z0-9_]|/d|\.d)([A-Za-z])_(\d+)(?![A-Za-z0-9_])", r"\1\2\3"),
)]
# the loss in a derivative's numerator (networks: their loss is `l`), and alone
_LOSS = re.compile(r"((?:step|sample)\d+\.)?d(?:L|J|E|loss|Loss|ell|l)/d")
_LOSS_NAMES = {"L", "l", "J", "E", "Loss", "loss"}


@dataclass(frozen=True)
class Structure:
    """What decides which quantities exist: layers, sizes, training."""

    weights: tuple  # W names in layer order
    biases: tuple  # b name or None per layer
    n_samples: int
    train_steps: int = 0
    state: tuple = ()  # the optimizer's state names ("v"; "m", "v", "mhat", "vhat"): step{k}.v_W1

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    @property
    def out_name(self) -> str:
        return f"z{2 * self.n_layers}"


def forward_names(s: Structure) -> list[str]:
    names = [f"z{i}" for i in range(1, 2 * s.n_layers + 1)]
    return names + ["y_hat"]


def backward_names(s: Structure) -> list[str]:
    """dl/dy_hat, dl/dz{2L-1}, …, dl/dz1, then parameter gradients, last layer first."""
    names = ["dl/dy_hat"] + [f"dl/dz{i}" for i in range(2 * s.n_layers - 1, 0, -1)]
    for l in range(s.n_layers, 0, -1):
        names.append(f"dl/d{s.weights[l - 1]}")
        if s.biases[l - 1]:
            names.append(f"dl/d{s.biases[l - 1]}")
    return names


def local_names(s: Structure) -> list[str]:
    """Local Jacobians, defined for single-sample problems only."""
    names = []
    for i in range(1, 2 * s.n_layers):
        top = "y_hat" if i + 1 == 2 * s.n_layers else f"z{i + 1}"
        names.append(f"d{top}/dz{i}")
    return names


def param_names(s: Structure) -> list[str]:
    out = []
    for w, b in zip(s.weights, s.biases):
        out += [w] + ([b] if b else [])
    return out


def base_names(s: Structure, per_sample: bool = False) -> list[str]:
    """Every quantity of one forward/backward pass, in sheet order."""
    names = forward_names(s) + ["loss"] + backward_names(s)
    if s.n_samples == 1 or per_sample:
        names += local_names(s)
    return names


def all_names(s: Structure) -> list[str]:
    """What `solve` reports: one pass plus the training steps."""
    names = base_names(s)
    for k in range(1, s.train_steps + 1):
        for p in param_names(s):  # the optimizer's state of each parameter, then its new value
            names += [f"step{k}.{state}_{p}" for state in s.state] + [f"step{k}.{p}"]
        names.append(f"step{k}.loss")
    return names


def state_of(name: str, state: tuple = ("m", "v", "mhat", "vhat")) -> tuple[str, str] | None:
    """("v", "W1") for the optimizer state name v_W1 (without its step prefix), else None."""
    head, sep, param = name.partition("_")
    return (head, param) if sep and head in state and param else None


def group_of(name: str) -> str:
    if name.startswith("sample"):
        return "sample"
    if name.startswith("step"):
        return "update"
    if name == "loss":
        return "loss"
    if name.startswith("dl/d"):
        return "backward"
    if _JAC.fullmatch(name):
        return "local"
    return "forward"


def parts(name: str) -> tuple[str | None, int | None, str]:
    """("step", 1, "W1") for step1.W1, ("sample", 2, "z1") for sample2.z1, else (None, None, name)."""
    m = _PREFIX.fullmatch(name)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (None, None, name)


class UnknownQuantity(KeyError):
    """A name no quantity answers to; `suggestion` is the closest real one."""

    def __init__(self, name: str, suggestion: str | None):
        super().__init__(name)
        self.name = name
        self.suggestion = suggestion

    def __str__(self) -> str:
        hint = f"; did you mean {self.suggestion!r}?" if self.suggestion else ""
        name = self.name if len(self.name) <= 60 else self.name[:60] + "…"  # a key may be 30 kB long
        return f"unknown quantity {name!r}{hint}"


def normalise_name(name: str, network: bool = True) -> str:
    """A quantity or value name as students write it, in bpcheck's spelling.

    `W_1`, `W^{(1)}`, `W^{[1]}` -> `W1`; `∂ℓ/∂W1`, `\\frac{\\partial \\mathcal{L}}{\\partial W_1}`
    -> `dl/dW1` (with `network`, a loss written L, ℓ, J, E or loss is the network's `l`;
    a graph's output keeps its own name); `\\hat{y}`, `ŷ` -> `y_hat`. Names it does not
    know stay as written (aliases such as `delta_2` keep their underscore).
    """
    text = str(name).strip()
    if len(text) > MAX_NAME:
        return text
    for pattern, replacement in _NAME_RULES:
        text = pattern.sub(replacement, text)
    if network:
        text = _LOSS.sub(lambda m: (m.group(1) or "") + "dl/d", text)
        if text in _LOSS_NAMES:
            text = "loss"
    return text


def read_name(name: str, network: bool = True) -> str:
    """`normalise_name` of a name that may be LaTeX, translated by `latex_syntax` first."""
    text = str(name)
    if "\\" not in text and "$" not in text:
        return normalise_name(text, network)  # not LaTeX: the LaTeX reader is not even imported
    from . import latex_syntax
    from .latex_tokens import LatexSyntaxError

    if len(text) <= MAX_NAME and latex_syntax.looks_like_latex(text):
        try:
            text = latex_syntax.translate(text)
        except LatexSyntaxError:  # an untranslatable name falls back to the rules here
            pass
    return normalise_name(text, network)


def canonical(name: str, s: Structure, aliases: dict[str, str] | None = None) -> str:
    """The canonical spelling of `name`, or UnknownQuantity.

    The name as written is tried first (an alias may hold an underscore), then
    as `read_name` normalises it (LaTeX, `W_1`, `dL/dW1`).
    """
    aliases = aliases or {}
    raw = str(name).strip().replace(" ", "")
    for spelling in dict.fromkeys((raw, read_name(str(name)))):
        full = _resolve(spelling, s, aliases)
        if full:
            return full
    samples = [f"sample1.{n}" for n in base_names(s, True)] if s.n_samples > 1 else []
    known = [k for k in all_names(s) + samples + list(aliases) if k != raw]  # never suggest the name itself
    same = [k for k in known if k.lower() == raw.lower()]  # dl/dw1 -> dl/dW1 before anything fuzzier
    import difflib  # only for a name that is unknown

    close = same or difflib.get_close_matches(raw, known, n=1, cutoff=0.6)
    kind, _, rest = parts(raw)
    base = _canonical_base(rest, s, aliases)
    if not close and kind and base and _exists(base, s):
        close = [base]  # sample1.z1 of a single-sample problem is z1
    raise UnknownQuantity(str(name), close[0] if close else None)


def _resolve(spelling: str, s: Structure, aliases: dict[str, str]) -> str | None:
    kind, k, rest = parts(spelling)
    prefix = f"{kind}{k}." if kind else ""
    base = _canonical_base(rest, s, aliases)
    full = prefix + base if base else None
    return full if full and _exists(full, s) else None


def _value(name: str, s: Structure, aliases: dict[str, str]) -> str:
    name = aliases.get(name, name)
    if name in ("y_hat", "ŷ", "yhat", s.out_name):
        return "y_hat"
    return name


def _canonical_base(rest: str, s: Structure, aliases: dict[str, str]) -> str | None:
    if rest == "loss":
        return rest
    state = state_of(rest, s.state)
    if state:  # v_W1, or v_ alias of W1
        return f"{state[0]}_{_value(state[1], s, aliases)}"
    m = _GRAD.fullmatch(rest)
    if m:
        return "dl/d" + _value(m.group(1), s, aliases)
    m = _JAC.fullmatch(rest)
    if m and not rest.startswith("dl/"):
        return f"d{_value(m.group(1), s, aliases)}/d{_value(m.group(2), s, aliases)}"
    return _value(rest, s, aliases)


def _exists(name: str, s: Structure) -> bool:
    kind, k, rest = parts(name)
    if kind is None:
        return name in base_names(s) or name == s.out_name
    if kind == "step":
        state = state_of(rest, s.state)
        return k <= s.train_steps and (rest == "loss" or rest in param_names(s)
                                       or (state is not None and state[1] in param_names(s)))
    return k <= s.n_samples and s.n_samples > 1 and rest in base_names(s, per_sample=True)

"""The grammar of formula text: precedence climbing over `formula_tokens`.

Binding, loosest first (Python's order, and the order on paper):
`+ -` < `* / @` and juxtaposition < unary `-` < `** ^` (right to left) <
postfix `.T`, `^T`, `'`, calls and `[i]`. So `2x^2` is 2·(x²), `-x^2` is
−(x²), `a / 2b` is (a/2)·b, and `2(y_hat - y)^T` is 2·((ŷ − y)ᵀ).

Juxtaposition: an operand (number, name, closing bracket) followed by the
start of another (number, name, opening bracket) is their product by shape
(`formulas.JUXT`); a function name followed by `(` is a call instead, and
`sigmoid'(z)` is that activation's derivative formula (from `ops`, through
`elementwise.prime`). Every node is counted as it is built (MAX_NODES) and
the recursion is bounded (MAX_TREE_DEPTH), so no text makes large work.
"""

from __future__ import annotations

from . import formula_syntax as S
from . import formulas as F
from .errors import shortened
from .formula_syntax import FormulaSyntaxError

_ADD, _MUL, _UNARY, _POW = 10, 20, 30, 40
_INFIX = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "@": _MUL, "**": _POW, "^": _POW}
_END = ("end", "", -1)


class Parser:
    def __init__(self, toks: list, known: set, placeholders: dict, resolve, indexing: bool,
                 constants: dict, spellings: dict | None):
        self.toks = toks
        self.at = 0
        self.known = known
        self.placeholders = placeholders
        self.resolve = resolve
        self.indexing = indexing
        self.constants = constants
        self.spellings = spellings
        self.count = 0

    # ------------------------------------------------------------ tokens

    def peek(self, ahead: int = 0) -> tuple:
        i = self.at + ahead
        return self.toks[i] if i < len(self.toks) else _END

    def take(self) -> tuple:
        tok = self.peek()
        self.at += 1
        return tok

    def is_op(self, text: str, ahead: int = 0) -> bool:
        kind, t, _ = self.peek(ahead)
        return kind == "op" and t == text

    def expect(self, text: str, opened: str) -> None:
        if not self.is_op(text):
            kind, t, _ = self.peek()
            if kind == "end":
                raise FormulaSyntaxError(f"a '{opened}' that is never closed")
            if t == ",":
                raise FormulaSyntaxError("a tuple (a comma outside a call) is not allowed")
            raise FormulaSyntaxError(f"expected '{text}' before {_shown(self.peek())}")
        self.take()

    def node(self, n: F.Node) -> F.Node:
        self.count += 1
        if self.count > S.MAX_NODES:
            raise FormulaSyntaxError(f"a formula of more than {S.MAX_NODES} parts")
        return n

    # ------------------------------------------------------------ grammar

    def parse(self) -> F.Node:
        node = self.expr(0, 0)
        kind, text, _ = self.peek()
        if kind != "end":
            if text == ",":
                raise FormulaSyntaxError("a tuple (a comma outside a call) is not allowed")
            if text == ")":
                raise FormulaSyntaxError("a ')' without its '('")
            raise FormulaSyntaxError(f"unexpected {_shown(self.peek())}")
        return node

    def expr(self, rbp: int, depth: int) -> F.Node:
        if depth > S.MAX_TREE_DEPTH:
            raise FormulaSyntaxError(f"a formula nested more than {S.MAX_TREE_DEPTH} deep")
        left = self.prefix(depth)
        while True:
            kind, text, _ = self.peek()
            if kind == "attr" or (kind == "op" and text in ("'", "[")):
                left = self.postfix(left)
            elif kind == "op" and text in _INFIX:
                if _INFIX[text] <= rbp:
                    return left
                left = self.infix(left, depth)
            elif kind in ("num", "name") or (kind == "op" and text == "("):
                if _MUL <= rbp:  # juxtaposition binds like *
                    return left
                left = self.binary(F.JUXT, left, self.expr(_MUL, depth + 1))
            else:
                return left

    def prefix(self, depth: int) -> F.Node:
        kind, text, pos = self.take()
        if kind == "num":
            return self.node(S.number(text))
        if kind == "name":
            return self.name(text, depth)
        if kind == "op" and text == "(":
            inner = self.expr(0, depth + 1)
            self.expect(")", "(")
            return inner
        if kind == "op" and text in "-+":
            inner = self.expr(_UNARY, depth + 1)
            if text == "+":
                return inner
            return self.node(F.Num(-inner.value) if isinstance(inner, F.Num) else F.Neg(inner))
        if kind == "op" and text == "[":
            return self.stack(depth)
        if kind == "end":
            raise FormulaSyntaxError("the formula ends where a value is expected")
        if kind == "attr":
            raise FormulaSyntaxError(f"'.{shortened(text)}' needs a value before it")
        if text == "'":
            raise FormulaSyntaxError("a quote ' is only allowed after a function (sigmoid'(z)) "
                                     "or after a value (x', its transpose)")
        if text == ":":
            raise FormulaSyntaxError("':' is not allowed in a formula")
        raise FormulaSyntaxError(f"{_shown((kind, text, pos))} needs a value on its left")

    def infix(self, left: F.Node, depth: int) -> F.Node:
        _, op, _ = self.take()
        if op in ("**", "^"):
            kind, text, _ = self.peek()
            if op == "^" and kind == "name" and text == "T":  # x^T: the transpose
                self.take()
                return self.node(F.T(left))
            right = self.expr(_POW - 1, depth + 1)  # right to left: 2^3^2 is 2^(3^2)
            if left == F.Name("e"):
                return self.node(F.call("exp", right))  # e^(-z) as written on paper
            S.check_power(left, right)
            return self.node(F.Bin("**", left, right))
        return self.binary(op, left, self.expr(_INFIX[op], depth + 1))

    def binary(self, op: str, left: F.Node, right: F.Node) -> F.Node:
        if isinstance(left, F.Num) and isinstance(right, F.Num):
            return self.node(S.fold(op, left.value, right.value)) if op != "@" else \
                self.node(F.Bin(op, left, right))
        return self.node(F.Bin(op, left, right))

    def postfix(self, left: F.Node) -> F.Node:
        kind, text, _ = self.take()
        if kind == "attr":
            if text == "T":
                return self.node(F.T(left))
            if self.is_op("("):
                raise FormulaSyntaxError("only plain function names can be called, e.g. relu(z1)")
            raise FormulaSyntaxError(f"'.{shortened(text)}' is not allowed (only .T, the transpose)")
        if text == "'":
            return self.node(F.T(left))  # x': the transpose, as in MATLAB
        return self.index(left)

    # ------------------------------------------------------------ names and calls

    def name(self, written: str, depth: int) -> F.Node:
        value = self.value(written)
        if value is not None:
            return value
        fn = _function(written)
        if self.is_op("'") and self.is_op("(", 1):
            self.take()
            self.take()
            return self.derivative(fn, written, depth)
        if self.is_op("("):
            if fn is None:
                raise FormulaSyntaxError(f"unknown function {shortened(written)!r}")
            self.take()
            return self.call(fn, self.arguments(depth))
        if fn is not None:
            raise FormulaSyntaxError(f"{written} is a function: write {written}(…)")
        raise FormulaSyntaxError(S.keyword(written) or f"unknown name {shortened(written)!r}")

    def value(self, written: str) -> F.Node | None:
        """The tree a name stands for: a problem name (through aliases and subscripts),
        a constant, I or ones; None when it is none of them."""
        name = self.placeholders.get(written, written)
        for spelling in S.spellings_of(name):
            found = spelling if spelling in self.known or spelling in S.CONSTANTS else None
            if found is None and self.resolve is not None:
                resolved = self.resolve(spelling)
                found = resolved if resolved in self.known else None
            if found is not None:
                if found != name and self.spellings is not None:
                    self.spellings[name] = found
                return self.node(F.Name(found))
        if name in self.constants:
            return self.node(self.constants[name])
        parts = _split(name, self.known) if len(name) <= 40 and name not in self.placeholders else None
        if parts:  # W1x is W1 x: an unknown name made only of known ones, side by side
            node = self.node(F.Name(parts[0]))
            for part in parts[1:]:
                node = self.node(F.Bin(F.JUXT, node, self.node(F.Name(part))))
            return node
        if name == "ones" and self.is_op("("):
            return None  # ones(N) is a call; I (x) is I times x
        sized = S.sized(name)
        return self.node(sized) if sized is not None else None

    def arguments(self, depth: int) -> list:
        args = []
        if self.is_op(")"):
            self.take()
            return args
        while True:
            args.append(self.expr(0, depth + 1))
            if self.is_op(","):
                self.take()
                continue
            self.expect(")", "(")
            return args

    def call(self, fn: str, args: list) -> F.Node:
        if fn == "transpose":
            if len(args) != 1:
                raise FormulaSyntaxError("transpose takes one argument")
            return self.node(F.T(args[0]))
        low, high = S.FUNCTIONS[fn]
        if not low <= len(args) <= high:
            raise FormulaSyntaxError(f"{fn} takes {low if low == high else f'{low} or {high}'} argument"
                                     f"{'s' if high > 1 else ''}, not {len(args)}")
        if fn in ("softplus", "leaky_relu", "elu", "step") and len(args) == 2:
            if not isinstance(args[1], F.Num) or (fn == "softplus" and args[1].value <= 0):
                raise FormulaSyntaxError(f"{fn}'s second argument must be a number"
                                         + (" above 0" if fn == "softplus" else ""))
        if fn == "max":
            return self.node(S.maximum(args))
        if fn in ("sum", "mean", "softmax") and len(args) == 2:
            if not (isinstance(args[1], F.Num) and args[1].value in (0, 1)):
                raise FormulaSyntaxError(f"{fn}'s second argument is an axis: 0 or 1")
        if fn in ("eye", "ones") and args:
            S.check_size(fn, args[0])
        return self.node(F.Call(fn, tuple(args)))

    def derivative(self, fn: str | None, written: str, depth: int) -> F.Node:
        """sigmoid'(z): the activation's derivative formula, from the operation registry."""
        from .elementwise import prime  # late: elementwise parses through formula_syntax
        if fn is None:
            raise FormulaSyntaxError(f"{shortened(written)}'(…) names no function: write the activation "
                                     "itself, e.g. sigmoid'(z3) or tanh'(z1)")
        args = self.arguments(depth)
        node = prime(fn, args)
        self.count += S.tree_depth(node)  # the formula it stands for counts, roughly, as its depth
        return self.node(node)

    # ------------------------------------------------------------ indexing and lists

    def index(self, arg: F.Node) -> F.Node:
        if not self.indexing:
            raise FormulaSyntaxError("indexing [...] is not allowed in a formula")
        if self.is_op("("):  # A[(1, 0)]
            self.take()
            at = self.positions(")")
            self.expect("]", "[")
        else:
            at = self.positions("]")
        if not 1 <= len(at) <= 2:
            raise FormulaSyntaxError("an index is one or two whole numbers: v[0], A[1, 0]")
        if isinstance(arg, F.Num):
            raise FormulaSyntaxError("a number cannot be indexed")
        return self.node(F.Index(arg, tuple(at)))

    def positions(self, close: str) -> list:
        out = []
        while True:
            out.append(self.position())
            kind, text, _ = self.take()
            if kind == "op" and text == ",":
                continue
            if kind == "op" and text == close:
                return out
            if kind == "op" and text == ":":
                raise FormulaSyntaxError("slices [a:b] are not allowed: index one entry, v[0] or A[1, 0]")
            raise FormulaSyntaxError(_WHOLE)

    def position(self) -> int:
        kind, text, _ = self.take()
        if kind == "op" and text == "-" and self.peek()[0] == "num":
            raise FormulaSyntaxError("negative indices are not allowed: indices count from 0")
        if kind == "op" and text == ":":
            raise FormulaSyntaxError("slices [a:b] are not allowed: index one entry, v[0] or A[1, 0]")
        if kind != "num" or not text.isdigit():
            raise FormulaSyntaxError(_WHOLE)
        if len(text) > 5 or int(text) > S.MAX_INDEX:
            raise FormulaSyntaxError(f"index {shortened(text)} is too large (limit {S.MAX_INDEX})")
        return int(text)

    def stack(self, depth: int) -> F.Node:
        if not self.indexing:
            raise FormulaSyntaxError("a list is not allowed in a formula")
        if self.is_op("]"):
            raise FormulaSyntaxError("an empty list [] is not a value")
        items = []
        while True:
            items.append(self.expr(0, depth + 1))
            if self.is_op(","):
                self.take()
                continue
            self.expect("]", "[")
            break
        rows = [isinstance(e, F.Stack) for e in items]
        if any(rows) and not all(rows):
            raise FormulaSyntaxError("a matrix [[…], […]] has lists for all its rows, not some")
        if all(rows):
            if any(isinstance(x, F.Stack) for e in items for x in e.items):
                raise FormulaSyntaxError("lists nest at most two deep (a matrix)")
            if len({len(e.items) for e in items}) > 1:
                raise FormulaSyntaxError("the rows of a matrix [[…], […]] must be equally long")
        return self.node(F.Stack(tuple(items)))


_WHOLE = "an index must be a whole number written out (v[0], A[1, 0]), not a name or a formula"


def _function(written: str) -> str | None:
    """The function a name calls (relu, its aliases, ReLU in any case), or None."""
    if written == "transpose":
        return "transpose"
    fn = S.ALIASES.get(written, written)
    if fn in S.FUNCTIONS:
        return fn
    lower = written.lower()
    fn = S.ALIASES.get(lower, lower)
    return fn if fn in S.FUNCTIONS else None


def _split(name: str, known: set) -> list | None:
    """`name` as two or more known names written together (W1x -> [W1, x]), longest first, or None."""
    if name in known:
        return [name]
    for cut in range(len(name) - 1, 0, -1):
        head = name[:cut]
        if head in known:
            rest = _split(name[cut:], known)
            if rest:
                return [head] + rest
    return None


def _shown(tok: tuple) -> str:
    kind, text, pos = tok
    if kind == "end":
        return "the end"
    where = f" (at character {pos + 1})" if pos >= 0 else ""
    return f"'{'.' if kind == 'attr' else ''}{shortened(text)}'{where}"


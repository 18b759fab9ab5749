"""All the samples of a graph problem in one pass of an engine.

With `data:`, a graph runs on every sample. Rather than one forward pass and
one backward pass per sample, the data inputs carry a leading axis of N
samples, and so does every step computed from them (`Tape.carried`); the
other steps (the given inputs, what is computed from them alone) keep their
own shapes. A per-step cost of the walk is then paid once, not N times.

- Elementwise functions broadcast; a carried argument gets axes of 1 after
  its sample axis where another argument has more axes per sample (numpy
  aligns trailing axes: N scalars against a 3-vector must be (N, 1)).
- Indexing is done on all samples at once (the common operation of a graph
  written node by node); every other structural operation runs sample by
  sample and its results are stacked: the same array code per sample.
- In a backward pass from a carried step, every adjoint carries the sample
  axis too: a given input's gradient is one per sample, never summed here.

Each sample's numbers are the ones its own pass gives: the same operations
on the same numbers, only issued together (tests/test_graph_passes.py).
"""

from __future__ import annotations

import numpy as np


def aligned(args: list, carried: list) -> list:
    """Elementwise arguments, each carried one with its per-sample axes aligned to the others'."""
    dims = [_ndim(a) - c for a, c in zip(args, carried)]
    most = max(dims)
    if all(d == most or not c for d, c in zip(dims, carried)):
        return args
    return [np.reshape(a, (len(a),) + (1,) * (most - d) + np.shape(a)[1:]) if c and d < most else a
            for a, d, c in zip(args, dims, carried)]


def _ndim(value) -> int:
    """np.ndim without its dispatch (asked for every argument of every carried step of every pass)."""
    return np.ndim(value) if isinstance(value, (list, tuple)) else getattr(value, "ndim", 0)  # (a number: 0)


def size(args: list, carried: list) -> int:
    """N: the length of the sample axis of the first carried argument."""
    return next(len(a) for a, c in zip(args, carried) if c)


def one(value, carried: bool, n: int):
    """Sample n of a value (the value itself when it does not carry the sample axis)."""
    return value[n] if carried else value


def stacked(items: list, exact: bool) -> np.ndarray:
    """Per-sample results side by side on a new leading axis (exact numbers as an object array)."""
    first = np.asarray(items[0], dtype=object if exact else float)
    out = np.empty((len(items),) + first.shape, dtype=first.dtype)
    for n, item in enumerate(items):
        out[n] = item
    return out


def structural(entry, arithmetic, args: list, carried: list, params: tuple):
    """A structural operation on carried arguments: indexing at once, anything else per sample."""
    if entry.name == "index":
        return np.asarray(args[0])[(slice(None),) + tuple(params)]  # only the array is indexed: it carries
    outs = [entry.forward(arithmetic, *[one(a, c, n) for a, c in zip(args, carried)], *params)
            for n in range(size(args, carried))]
    return stacked(outs, arithmetic.exact)


def structural_vjp(entry, g, out, out_carried: bool, args: list, carried: list, params: tuple, exact: bool):
    """A structural operation's vector-Jacobian product for each sample of g, stacked per argument."""
    per = [entry.vjp(g[n], one(out, out_carried, n), [one(a, c, n) for a, c in zip(args, carried)], params)
           for n in range(len(g))]
    return [None if any(p[k] is None for p in per) else stacked([p[k] for p in per], exact)
            for k in range(len(args))]


def unbroadcast(g, shape: tuple):
    """Sum a carried gradient to `shape` (sample axis first) over the axes its argument was
    broadcast along, keeping the sample axis: one gradient per sample."""
    g = np.asarray(g)
    if g.shape == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=1)
    for axis in range(1, len(shape)):
        if shape[axis] == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.reshape(shape)


class Sample:
    """Sample n of a list of step values, read entry by entry (for the kink settling, which
    reads a few earlier values of one sample)."""

    def __init__(self, values: list, carried: list, n: int):
        self.values, self.carried, self.n = values, carried, n

    def __getitem__(self, i: int):
        return one(self.values[i], self.carried[i], self.n)


def settle(arithmetic, tape, i: int, value, values: list, carried: list, memo: dict):
    """The float engine's kink settling of a carried step, sample by sample (each with its own notes)."""
    outs = [arithmetic.settle(tape, i, value[n], Sample(values, carried, n), memo.setdefault(("sample", n), {}))
            for n in range(len(value))]
    return stacked(outs, False)

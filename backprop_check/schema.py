"""JSON Schemas (draft 2020-12) of the problem spec and the answers file, for editors.

`bpcheck schema problem|answers` prints them; an editor with the YAML language
server checks a spec as it is typed (`# yaml-language-server: $schema=…`).

The schemas are built from the readers' own tables, so that they cannot drift:
each mapping's properties are looked up, key by key, from the very key sets the
readers accept (`spec.TOP_KEYS`, `graphspec.TOP_KEYS`, `specread.QUESTION_KEYS`,
`TRAIN_KEYS`, `TOLERANCE_KEYS`, `OPTION_KEYS`, `answers.ANSWER_KEYS`, …), and the
names a value may take come from the registries (`activations.KINDS`,
`losses.TYPES`, `optimizers.KINDS`, `credit.MISTAKE_TAGS`). A key added to a
reader's table without a schema here fails at build time (a KeyError in
`_pick`), which the tests turn into a failure. The few key sets that spec.py
checks inline, not as named tables, are written once below; tests/test_schema.py
probes the readers and holds them equal.

The schema describes what an editor sees: YAML 1.2 numbers and booleans, or the
strings the readers also accept ("1/2", "1e-3", yes/no). It checks keys, types,
names and simple ranges; what needs the whole problem (shapes that fit, a
question's quantity, a formula) is left to `bpcheck solve`.
"""

from __future__ import annotations

import json

from . import activations, answers, credit, exact, graphspec, losses, optimizers, spec, specread

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Key sets and choices that spec.py and specread.py check inline (not as named tables).
NETWORK_KEYS = ("layers",)  # spec._layers
LAYER_KEYS = ("weight", "bias", "activation")  # spec._layers
DATA_KEYS = ("layout", "x", "y")  # spec._data
LOSS_KEYS = ("type", "factor", "average", "term", "margin")  # spec_functions.loss
LAYOUTS = ("columns", "rows")  # spec._data
PARTIAL = ("entries", "none")  # specread.options / questions
NETWORK_REQUIRED = ("bpcheck", "id", "network", "params", "data", "loss")  # spec._build
GRAPH_REQUIRED = ("bpcheck", "id", "graph")  # graphspec.build
BOOLEAN_WORDS = ("true", "false", "yes", "no", "on", "off")  # specread.Reader.boolean (any case)
VERSIONS = (1, "1")  # `bpcheck:` (specread.header, answers.load_answers)


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _number(low=None, high=None, exclusive_low=False, what: str = "") -> dict:
    """A YAML number, or a string holding a decimal, 1e-3 or a fraction 3/4 (exact.parse_number)."""
    as_number: dict = {"type": "number", "minimum": -specread.MAX_MAGNITUDE, "maximum": specread.MAX_MAGNITUDE}
    if low is not None:
        as_number["exclusiveMinimum" if exclusive_low else "minimum"] = low
    if high is not None:
        as_number["maximum"] = high
    out: dict = {"anyOf": [as_number, _ref("numberText")]}
    if what:
        out["description"] = what
    return out


def _integer(low: int, high: int, what: str = "") -> dict:
    out: dict = {"anyOf": [{"type": "integer", "minimum": low, "maximum": high},
                           {"type": "string", "pattern": r"^\s*\+?[0-9]+(?:\.0*)?\s*$"}]}
    if what:
        out["description"] = what
    return out


def _choice(values, what: str = "") -> dict:
    out: dict = {"enum": list(values)}
    if what:
        out["description"] = what
    return out


def _one_key_mapping(kinds: dict, parameters, what: str) -> dict:
    """{name: {parameter: number, …}}: one key, a registry's name, with its parameters."""
    return {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
            "description": what,
            "properties": {name: {"type": ["object", "null"], "additionalProperties": False,
                                  "properties": {p: _ref("number") for p in parameters(kind)}}
                           for name, kind in kinds.items()}}


def _pick(table: dict, keys) -> dict:
    """The property schemas of exactly the reader's `keys` (KeyError: a key without a schema)."""
    return {key: table[key] for key in sorted(keys)}


def _object(properties: dict, required=(), what: str = "") -> dict:
    out: dict = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    if what:
        out["description"] = what
    return out


# ------------------------------------------------------------------ shared definitions

def _definitions() -> dict:
    text = {"type": ["string", "number", "boolean"]}  # the readers keep every scalar as its text
    return {
        "numberText": {"type": "string", "description": "a decimal, 1e-3 or a fraction such as 3/4",
                       "pattern": rf"^\s*(?:{exact._DECIMAL.pattern}|{exact._FRACTION.pattern})\s*$"},
        "number": _number(),
        "share": _number(0, 1, what="a share of the points, from 0 to 1"),
        "boolean": {"anyOf": [{"type": "boolean"},
                              {"enum": [f(w) for w in BOOLEAN_WORDS for f in (str.lower, str.title, str.upper)]}]},
        "text": text,
        "ident": {"type": "string", "pattern": _anchored(specread.IDENT.pattern),
                  "description": "a plain name: a letter, then letters, digits or _ (at most 32)"},
        "vector": {"type": "array", "minItems": 1, "maxItems": specread.MAX_DIM, "items": _ref("number")},
        "matrix": {"type": "array", "minItems": 1, "maxItems": max(specread.MAX_DIM, specread.MAX_SAMPLES),
                   "items": _ref("vector"), "description": "a nested list, row by row"},
        "array": {"anyOf": [_ref("vector"), _ref("matrix")]},
        "value": {"anyOf": [_ref("number"), _ref("vector"), _ref("matrix")]},
        "tolerance": _tolerance(),
        "question": _object(_pick({**_option_properties(), **_question_properties()}, specread.QUESTION_KEYS),
                            ("quantity",), "a question: a quantity, its points and how it is graded"),
        "credit": {"type": "object", "propertyNames": _choice(credit.MISTAKE_TAGS),
                   "additionalProperties": _ref("share"),
                   "description": "diagnosis tag -> the share of the points it earns"},
        "feedback": {"type": "object", "propertyNames": _choice(credit.FEEDBACK_TAGS),
                     "additionalProperties": {"type": ["string", "number", "boolean"], "minLength": 1,
                                              "maxLength": credit.MAX_FEEDBACK},
                     "description": "diagnosis tag -> the message a student with that mistake reads"},
        "optimizer": {"anyOf": [
            _choice(optimizers.KINDS, "sgd (the default), momentum or adam"),
            _one_key_mapping(optimizers.KINDS, lambda k: [name for name, _ in k.defaults],
                             "an optimizer with its hyperparameters, e.g. {adam: {beta1: 0.9}}")]},
    }


def _tolerance() -> dict:
    table = {"rtol": _number(0, what="relative tolerance"), "atol": _number(0, what="absolute tolerance"),
             "sigfigs": _integer(1, 15, "significant figures that must match"),
             "decimals": _integer(0, 15, "decimals that must match"),
             "last_digit": {**_ref("boolean"), "description": "grant one unit of the last written digit"}}
    out = _object(_pick(table, specread.TOLERANCE_KEYS), what="when an answer counts as correct")
    out["not"] = {"required": ["sigfigs", "decimals"]}  # "use sigfigs or decimals, not both"
    return out


def _option_properties() -> dict:
    """The grading options: at the top level and per question."""
    return {"partial": _choice(PARTIAL, "entries: credit per correct entry; none: all or nothing"),
            "ecf": {**_ref("boolean"), "description": "error carried forward (on by default)"},
            **{key: _ref("share") for key in specread.SHARE_KEYS},
            **{key: {**_ref("boolean"), "description": f"accept the {key.replace('_', ' ')} convention "
                                                       "(true by default)"} for key in specread.CONVENTION_KEYS},
            "credit": _ref("credit"), "feedback": _ref("feedback")}


def _question_properties() -> dict:
    return {"quantity": {"type": ["string", "number"], "description": "a quantity name: z1, loss, dl/dW2, step1.W1"},
            "points": _number(0, 10_000, what="points (default 1)"),
            "tolerance": _ref("tolerance"),
            "form": _choice(specread.FORMS, "value (default), expression (a formula) or any")}


# ------------------------------------------------------------------ the problem spec

def _network_properties() -> dict:
    kinds = activations.KINDS
    activation = {"anyOf": [
        _choice(kinds, "an activation by name"),
        # spec_functions.activation reads a string as a formula unless it is a bare name (then it must be a kind)
        {"type": "string", "not": {"pattern": r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$"},
         "description": "an elementwise formula in z, e.g. 5*relu(z)"},
        _one_key_mapping(kinds, lambda k: [*k.defaults, "scale"] if k.elementwise else [],  # softmax: none
                         "an activation with parameters, e.g. {relu: {scale: 5}}, {leaky_relu: {slope: 0.01}}")]}
    layer = _object(_pick({"weight": _ref("ident"), "bias": {"anyOf": [_ref("ident"), {"type": "null"}]},
                           "activation": activation}, LAYER_KEYS), ("weight",),
                    "Linear then activation: z = W x + b, then f(z)")
    layers = {"type": "array", "minItems": 1, "maxItems": spec.MAX_LAYERS, "items": layer}
    loss_types = (*losses.TYPES, "custom")
    loss = {"anyOf": [_choice(losses.TYPES, "a loss by name"), {**_object(_pick({
        "type": _choice(loss_types), "factor": _number(0, exclusive_low=True, what="multiplies the loss"),
        "average": _choice(losses.AVERAGES, "divide by N (samples), K (outputs), N·K (all) or nothing (none)"),
        "term": {"type": "string", "description": "a custom loss's per-element term in y_hat and y"},
        "margin": _number(0, what="the hinge's margin (default 1)")}, LOSS_KEYS)),
        "anyOf": [{"required": ["type"]}, {"required": ["term"]}]}]}
    return {
        "network": _object(_pick({"layers": layers}, NETWORK_KEYS), ("layers",)),
        "params": {"type": "object", "propertyNames": _ref("ident"), "additionalProperties": _ref("array"),
                   "description": "every weight (out × in, row by row) and bias (a flat list) named by a layer"},
        "data": _object(_pick({"layout": {"anyOf": [_choice(LAYOUTS), {"type": "null"}]},
                               "x": _ref("array"), "y": _ref("array")}, DATA_KEYS), ("x", "y")),
        "loss": loss,
        "train": _train(specread.TRAIN_KEYS),
        "relu_grad_at_zero": _number(0, 1, what="ReLU's derivative at exactly 0 (default 0)"),
    }


def _graph_properties() -> dict:
    scalar = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "number"}]}
    expression = {"anyOf": [scalar, {"type": "array", "minItems": 1, "items": {"anyOf": [
        scalar, {"type": "array", "minItems": 1, "items": scalar}]}}],
        "description": "an expression of inputs and earlier nodes, or a list of them (a vector or matrix node)"}
    named = {"type": "object", "propertyNames": _ref("ident"), "minProperties": 1}
    reduce = _choice(graphspec.REDUCTIONS, "how the output combines over the samples (default sum)")
    graph = _pick({"inputs": {**named, "additionalProperties": _ref("value"), "description": "the given values"},
                   "nodes": {**named, "maxProperties": graphspec.MAX_NODES, "additionalProperties": expression,
                             "description": "the computed values, in order"},
                   "output": {**_ref("ident"), "description": "the output node (default: the last)"},
                   "reduce": reduce}, graphspec.GRAPH_KEYS)
    samples = {"type": "array", "minItems": 1, "maxItems": specread.MAX_SAMPLES, "items": _ref("value")}
    return {"graph": _object(graph, ("inputs", "nodes")),
            "data": {"type": "object", "propertyNames": _ref("ident"), "additionalProperties": samples,
                     "description": "per-sample values: name -> one value per sample"},
            "reduce": reduce,
            "train": _train(specread.TRAIN_KEYS | {"params"})}


def _train(keys) -> dict:
    table = {"lr": _number(0, exclusive_low=True, what="the learning rate"),
             "steps": _integer(1, specread.MAX_STEPS, "gradient steps on the whole batch (default 1)"),
             "optimizer": _ref("optimizer"),
             "params": {"type": "array", "minItems": 1, "uniqueItems": True, "items": _ref("ident"),
                        "description": "the inputs a step updates (default: all)"}}
    return _object(_pick(table, keys), ("lr",), "gradient steps: lr, steps, optimizer")


def _common_properties() -> dict:
    return {
        "bpcheck": _choice(VERSIONS, "the format version: 1"),
        "id": {"anyOf": [{"type": "string", "pattern": _anchored(specread.ID.pattern)},
                         {"type": "integer", "minimum": 0}],
               "description": "unique id: lower-case letters, digits, '.', '_' or '-'"},
        "title": _ref("text"), "description": _ref("text"),
        "tolerance": _ref("tolerance"),
        "questions": {"type": "array", "items": _ref("question"),
                      "description": "what students answer (default: every quantity, 1 point)"},
        "names": {"type": "object", "additionalProperties": _ref("ident"),
                  "description": "display aliases: value or gradient name -> alias (z1: S1, dl/dz3: delta_2)"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                   "description": "the spec's own stamp (bpcheck hash prints it)"},
        **_option_properties(),
        **({"random": _random()} if "random" in spec.TOP_KEYS else {}),
    }


def _random() -> dict:
    """`random:` (FORMAT.md section 7): a range per given name, plus the section's own keys."""
    from . import variant_spec as V  # only where the readers accept `random:`

    rng = _object(_pick({"low": _ref("number"), "high": _ref("number"),
                         "decimals": _integer(0, V.MAX_DECIMALS, f"decimals of each drawn number "
                                                                 f"(default {V.DEFAULT_DECIMALS})")},
                        V.RANGE_KEYS), ("low", "high"), "redraw every number of this name from [low, high]")
    own = {"salt": {**_ref("text"), "maxLength": V.MAX_SALT, "description": "change it and every variant changes"},
           "avoid_kinks": _number(0, what="redraw while a pre-activation is this close to a kink")}
    return {"type": "object", "minProperties": 1, "propertyNames": _ref("ident"), "properties": _pick(own, V.OWN_KEYS),
            "additionalProperties": rng, "description": "per-student variants: each student gets their own numbers"}


def problem_schema() -> dict:
    """The problem spec (FORMAT.md sections 1, 5, 6): a network spec, or a graph spec with `graph:`."""
    common = _common_properties()
    network = _object(_pick({**common, **_network_properties()}, spec.TOP_KEYS), NETWORK_REQUIRED,
                      "a layered network")
    graph = _object(_pick({**common, **_graph_properties()}, graphspec.TOP_KEYS), GRAPH_REQUIRED,
                    "a computation graph")
    return {"$schema": DIALECT, "title": "bpcheck problem spec, version 1", "type": "object",
            "if": {"required": ["graph"]}, "then": _ref("graphProblem"), "else": _ref("networkProblem"),
            "$defs": {**_definitions(), "networkProblem": network, "graphProblem": graph}}


def answers_schema() -> dict:
    """The answers file (FORMAT.md section 3)."""
    entry = {"anyOf": [{"type": "number"}, {"type": "string"}]}
    answer = {"anyOf": [entry, {"type": "array", "minItems": 1, "items": entry},
                        {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 1, "items": entry}}],
              "description": "a number, a list (a vector), a nested list (a matrix) or a formula string"}
    table = {"bpcheck": _choice(VERSIONS, "the format version: 1"),
             "problem": {**_ref("text"), "description": "the problem spec, relative to this file"},
             "student": {**_ref("text"), "description": "the student's id"},
             "answers": {"type": ["object", "null"], "additionalProperties": answer,
                         "description": "quantity name -> the answer"}}
    return {"$schema": DIALECT, "title": "bpcheck answers file, version 1",
            **_object(_pick(table, answers.ANSWER_KEYS), ("answers",)),
            "$defs": {"text": {"type": ["string", "number", "boolean"]}}}


SCHEMAS = {"problem": problem_schema, "answers": answers_schema}


def render(which: str) -> str:
    """The schema `which` (problem or answers) as JSON text."""
    return json.dumps(SCHEMAS[which](), indent=2) + "\n"

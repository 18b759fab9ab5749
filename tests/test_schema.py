"""The JSON Schemas (`bpcheck schema problem|answers`) cannot drift from the readers.

- Keys: every mapping's keys are probed from the readers themselves (a spec with an
  unknown key `zzqxj` there, whose error lists what the reader allows) and must equal
  the schema's properties at the same place; so must the registries' names
  (activations, losses, optimizers, diagnosis tags) and their parameters.
- Files: every shipped spec and answers file is valid under the schema, read as an
  editor reads it (YAML 1.2 numbers) and as PyYAML reads it (YAML 1.1).
- Broken specs that the readers reject are rejected by the schema where a schema can
  tell (unknown keys, wrong types, out-of-range choices, missing required keys).

`jsonschema` is not a dependency: `validate` below implements the subset of draft
2020-12 that bpcheck's schemas use, and a test holds the schemas to that subset.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backprop_check import activations, credit, losses, optimizers, schema, spec
from backprop_check.answers import load_answers
from backprop_check.cli import main
from backprop_check.errors import InputError
from backprop_check.spec import parse_problem

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted([*ROOT.glob("problems/*.yaml"), *ROOT.glob("problems/graphs/*.yaml"),
                *ROOT.glob("fixtures/problems/*.yaml")])
ANSWERS = sorted(ROOT.glob("fixtures/**/*.answers.yaml"))


# ------------------------------------------------------------------ a small 2020-12 validator

KEYWORDS = {"$schema", "$defs", "$ref", "title", "description", "type", "enum", "const", "pattern",
            "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "items", "minItems",
            "maxItems", "uniqueItems", "properties", "additionalProperties", "required", "propertyNames",
            "minProperties", "maxProperties", "anyOf", "oneOf", "allOf", "not", "if", "then", "else"}
TYPES = {"null": lambda v: v is None, "boolean": lambda v: isinstance(v, bool),
         "string": lambda v: isinstance(v, str), "object": lambda v: isinstance(v, dict),
         "array": lambda v: isinstance(v, list),
         "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
         "integer": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()}


def _same(a, b) -> bool:
    """JSON equality: 1 is not true."""
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def validate(value, node: dict, root: dict, path: str = "") -> list[str]:
    """The errors of `value` under `node` (empty: valid)."""
    errors: list[str] = []
    if "$ref" in node:
        errors += validate(value, root["$defs"][node["$ref"].removeprefix("#/$defs/")], root, path)
    kinds = node.get("type")
    if kinds is not None and not any(TYPES[k](value) for k in ([kinds] if isinstance(kinds, str) else kinds)):
        return errors + [f"{path}: {value!r} is not of type {kinds}"]
    if "enum" in node and not any(_same(value, v) for v in node["enum"]):
        errors.append(f"{path}: {value!r} is not one of {node['enum']}")
    if "const" in node and not _same(value, node["const"]):
        errors.append(f"{path}: {value!r} is not {node['const']!r}")
    if isinstance(value, str):
        if "pattern" in node and not re.search(node["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {node['pattern']}")
        if not node.get("minLength", 0) <= len(value) <= node.get("maxLength", float("inf")):
            errors.append(f"{path}: length {len(value)}")
    if TYPES["number"](value):
        if value < node.get("minimum", value) or value > node.get("maximum", value):
            errors.append(f"{path}: {value} out of range")
        if "exclusiveMinimum" in node and value <= node["exclusiveMinimum"]:
            errors.append(f"{path}: {value} not above {node['exclusiveMinimum']}")
    if isinstance(value, list):
        errors += _array(value, node, root, path)
    if isinstance(value, dict):
        errors += _object(value, node, root, path)
    errors += _combined(value, node, root, path)
    return errors


def _array(value: list, node: dict, root: dict, path: str) -> list[str]:
    errors = []
    if not node.get("minItems", 0) <= len(value) <= node.get("maxItems", float("inf")):
        errors.append(f"{path}: {len(value)} items")
    if node.get("uniqueItems") and len({json.dumps(v) for v in value}) < len(value):
        errors.append(f"{path}: items repeat")
    for i, item in enumerate(value):
        if "items" in node:
            errors += validate(item, node["items"], root, f"{path}[{i}]")
    return errors


def _object(value: dict, node: dict, root: dict, path: str) -> list[str]:
    errors = [f"{path}: missing {key!r}" for key in node.get("required", ()) if key not in value]
    if not node.get("minProperties", 0) <= len(value) <= node.get("maxProperties", float("inf")):
        errors.append(f"{path}: {len(value)} properties")
    for key, item in value.items():
        if "propertyNames" in node:
            errors += validate(key, node["propertyNames"], root, f"{path}.{key}(name)")
        if key in node.get("properties", {}):
            errors += validate(item, node["properties"][key], root, f"{path}.{key}")
        elif node.get("additionalProperties") is False:
            errors.append(f"{path}: unknown key {key!r}")
        elif isinstance(node.get("additionalProperties"), dict):
            errors += validate(item, node["additionalProperties"], root, f"{path}.{key}")
    return errors


def _combined(value, node: dict, root: dict, path: str) -> list[str]:
    errors = []
    for sub in node.get("allOf", ()):
        errors += validate(value, sub, root, path)
    if "anyOf" in node and all(validate(value, sub, root, path) for sub in node["anyOf"]):
        errors.append(f"{path}: {value!r} matches none of anyOf")
    if "oneOf" in node and sum(not validate(value, sub, root, path) for sub in node["oneOf"]) != 1:
        errors.append(f"{path}: {value!r} does not match exactly one of oneOf")
    if "not" in node and not validate(value, node["not"], root, path):
        errors.append(f"{path}: {value!r} matches what is forbidden")
    if "if" in node:
        branch = "then" if not validate(value, node["if"], root, path) else "else"
        if branch in node:
            errors += validate(value, node[branch], root, path)
    return errors


def check(value, which: str = "problem") -> list[str]:
    root = schema.SCHEMAS[which]()
    return validate(value, root, root)


def _keywords(node, out: set) -> set:
    """Every keyword a schema uses (property names and $defs names are data, not keywords)."""
    if isinstance(node, dict):
        for key, sub in node.items():
            out.add(key)
            if key in ("properties", "$defs"):
                for each in sub.values():
                    _keywords(each, out)
            elif key not in ("enum", "const", "required"):
                _keywords(sub, out)
    elif isinstance(node, list):
        for sub in node:
            _keywords(sub, out)
    return out


@pytest.mark.parametrize("which", sorted(schema.SCHEMAS))
def test_schema_uses_only_keywords_the_validator_knows(which):
    # else `validate` would pass what it does not understand
    assert _keywords(schema.SCHEMAS[which](), set()) <= KEYWORDS


@pytest.mark.parametrize("which", sorted(schema.SCHEMAS))
def test_schema_is_draft_2020_12_json(which):
    data = json.loads(schema.render(which))
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    refs = re.findall(r'"\$ref": "#/\$defs/(\w+)"', schema.render(which))
    assert refs and set(refs) <= set(data["$defs"])


def test_validator_rejects_what_it_should():
    # the validator itself, on hand-made cases: a validator that passes everything fails here
    node = {"type": "object", "properties": {"a": {"enum": [1, "1"]}}, "required": ["a"],
            "additionalProperties": False}
    assert validate({"a": 1}, node, node) == []
    assert validate({"a": True}, node, node)  # true is not 1 in JSON
    assert validate({}, node, node)
    assert validate({"a": 1, "b": 2}, node, node)
    assert validate([1], node, node)


# ------------------------------------------------------------------ shipped files are valid

class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2's core schema, as editors read a file: 1e-3 is a number, yes is a string."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()}
_Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."))


def _loads(text: str, loader) -> object:
    return json.loads(json.dumps(yaml.load(text, Loader=loader), default=str))  # dates -> text, as JSON has


@pytest.mark.parametrize("loader", [_Yaml12Loader, yaml.SafeLoader], ids=["yaml1.2", "yaml1.1"])
@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_spec_is_valid(path, loader):
    assert check(_loads(path.read_text(), loader)) == []


@pytest.mark.parametrize("loader", [_Yaml12Loader, yaml.SafeLoader], ids=["yaml1.2", "yaml1.1"])
@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_answers_file_is_valid(path, loader):
    assert check(_loads(path.read_text(), loader), "answers") == []


def test_the_shipped_files_are_there():
    assert len(SPECS) >= 20 and any("graphs" in str(p) for p in SPECS) and len(ANSWERS) >= 15


# ------------------------------------------------------------------ the readers' keys, probed

NETWORK = {"bpcheck": 1, "id": "tiny", "title": "Tiny",
           "network": {"layers": [{"weight": "W1", "bias": "b1", "activation": "relu"}]},
           "params": {"W1": [[1, 2]], "b1": [0]}, "data": {"layout": "columns", "x": [1, 2], "y": [1]},
           "loss": {"type": "mse", "factor": "1/2"}, "train": {"lr": 0.1, "steps": 1},
           "tolerance": {"rtol": 0.01}, "ecf": True,
           "questions": [{"quantity": "loss", "points": 2, "tolerance": {"atol": 0.1}}]}
GRAPH = {"bpcheck": 1, "id": "g", "graph": {"inputs": {"w1": 1, "w2": 2}, "nodes": {"s": "w1 + w2", "L": "s * w1"},
                                            "output": "L"},
         "train": {"lr": 0.1, "params": ["w1"]}, "questions": [{"quantity": "dL/dw1"}]}
PROBE = "zzqxj"


def _reader_error(spec: dict) -> str | None:
    try:
        parse_problem(yaml.safe_dump(spec, sort_keys=False))
    except InputError as exc:
        return str(exc)
    return None


def _allowed(message: str) -> set:
    m = re.search(r"\(allowed: ([^)]*)\)", message or "")
    assert m, message
    return set(m.group(1).split(", "))


def _at(data: dict, path: tuple):
    for key in path:
        data = data[key]
    return data


def _schema_at(path: tuple, root: dict, instance: dict) -> dict:
    """The object schema that governs `path` of `instance` (following $ref, if/then/else, items, anyOf)."""
    node, value = root, instance
    node = _resolve(node, value, root)
    for key in path:
        value = value[key]
        node = node["items"] if isinstance(key, int) else node["properties"][key]
        node = _resolve(node, value, root)
    return node


def _resolve(node: dict, value, root: dict) -> dict:
    while True:
        if "$ref" in node:
            node = root["$defs"][node["$ref"].removeprefix("#/$defs/")]
        elif "if" in node:
            node = node["then" if not validate(value, node["if"], root) else "else"]
        elif "anyOf" in node and "properties" not in node:
            node = next(sub for sub in node["anyOf"] if not validate(value, sub, root))
        else:
            return node


MAPPINGS = [(NETWORK, ()), (NETWORK, ("network",)), (NETWORK, ("network", "layers", 0)), (NETWORK, ("data",)),
            (NETWORK, ("loss",)), (NETWORK, ("train",)), (NETWORK, ("tolerance",)), (NETWORK, ("questions", 0)),
            (NETWORK, ("questions", 0, "tolerance")), (GRAPH, ()), (GRAPH, ("graph",)), (GRAPH, ("train",))]


@pytest.mark.parametrize("base, path", MAPPINGS, ids=lambda v: "/".join(map(str, v)) if isinstance(v, tuple)
                         else ("graph" if "graph" in v else "network"))
def test_schema_keys_are_the_readers_keys(base, path):
    spec = copy.deepcopy(base)
    assert _reader_error(spec) is None and check(spec) == []
    _at(spec, path)[PROBE] = 1
    accepted = _allowed(_reader_error(spec))
    root = schema.problem_schema()
    assert set(_schema_at(path, root, base)["properties"]) == accepted
    assert check(spec)  # the probe key is refused by the schema too


def _activation_schema(root: dict) -> list:
    layer = _schema_at(("network", "layers", 0), root, NETWORK)
    return layer["properties"]["activation"]["anyOf"]


def test_activation_names_and_parameters_are_the_readers():
    root = schema.problem_schema()
    names, _, mapping = _activation_schema(root)
    spec = copy.deepcopy(NETWORK)
    spec["network"]["layers"][0]["activation"] = {PROBE: {}}
    assert _allowed(_reader_error(spec)) == set(names["enum"]) == set(mapping["properties"]) == set(activations.KINDS)
    for name, kind in activations.KINDS.items():
        spec["network"]["layers"][0]["activation"] = {name: {PROBE: 1}}
        message = _reader_error(spec)
        given = set(mapping["properties"][name]["properties"])
        if kind.elementwise:
            assert _allowed(message) == given, name
        else:  # softmax takes no parameters
            assert "no parameters" in message and given == set()


def test_optimizer_names_and_hyperparameters_are_the_readers():
    root = schema.problem_schema()
    names, mapping = root["$defs"]["optimizer"]["anyOf"]
    spec = copy.deepcopy(NETWORK)
    spec["train"]["optimizer"] = PROBE
    assert _allowed(_reader_error(spec)) == set(names["enum"]) == set(mapping["properties"])
    for name in optimizers.KINDS:
        spec["train"]["optimizer"] = {name: {PROBE: 1}}
        message = _reader_error(spec)
        given = set(mapping["properties"][name]["properties"])
        assert (_allowed(message) if given else set()) == given, message


def test_loss_types_are_the_readers():
    root = schema.problem_schema()
    spec = copy.deepcopy(NETWORK)
    spec["loss"] = PROBE
    named = re.search(r"use one of (.*), or custom", _reader_error(spec)).group(1).split(", ")
    in_mapping = _schema_at(("loss",), root, NETWORK)["properties"]["type"]["enum"]
    by_name = root["$defs"]["networkProblem"]["properties"]["loss"]["anyOf"][0]["enum"]
    assert set(named) == set(by_name) == set(in_mapping) - {"custom"} == set(losses.TYPES)


@pytest.mark.parametrize("key, tags", [("credit", credit.MISTAKE_TAGS), ("feedback", credit.FEEDBACK_TAGS)])
def test_diagnosis_tags_are_the_readers(key, tags):
    spec = copy.deepcopy(NETWORK)
    spec[key] = {PROBE: "1"}
    by_schema = schema.problem_schema()["$defs"][key]["propertyNames"]["enum"]
    assert _allowed(_reader_error(spec)) == set(tags) == set(by_schema)
    assert check(spec)


def test_answers_keys_are_the_readers(tmp_path):
    path = tmp_path / "a.answers.yaml"
    path.write_text(f"bpcheck: 1\nanswers: {{loss: 1}}\n{PROBE}: 1\n")
    warning = " ".join(message for _, message in load_answers(path).warnings)
    accepted = set(re.search(r"holds only (.*)$", warning).group(1).split(", "))
    root = schema.answers_schema()
    assert set(root["properties"]) == accepted
    assert check({"bpcheck": 1, "answers": {"loss": 1}, PROBE: 1}, "answers")


needs_random = pytest.mark.skipif("random" not in spec.TOP_KEYS, reason="the readers do not read random: yet")
RANDOM = {"salt": "fall-2026", "W1": {"low": -1, "high": 1, "decimals": 1}, "avoid_kinks": 0.05}


@needs_random
def test_random_keys_are_the_readers():
    base = {**copy.deepcopy(NETWORK), "random": copy.deepcopy(RANDOM)}
    assert _reader_error(base) is None and check(base) == []
    base["random"]["W1"][PROBE] = 1
    node = _schema_at(("random",), schema.problem_schema(), base)
    assert set(node["additionalProperties"]["properties"]) == _allowed(_reader_error(base))
    assert check(base)


@needs_random
@pytest.mark.parametrize("value", [{"W1": {"low": -1}}, {"W1": {"low": -1, "high": 1, "decimals": 9}},
                                   {"W1": [-1, 1]}, {"avoid_kinks": -1, "W1": {"low": 0, "high": 1}}, {}])
def test_broken_random_is_refused_by_both(value):
    spec = {**copy.deepcopy(NETWORK), "random": value}
    assert _reader_error(spec) is not None and check(spec)


@pytest.mark.parametrize("base", [NETWORK, GRAPH], ids=["network", "graph"])
def test_required_keys_are_the_readers(base):
    # removing a key: the reader refuses the spec exactly when the schema does
    for key in base:
        spec = {k: v for k, v in base.items() if k != key}
        assert (_reader_error(spec) is not None) == bool(check(spec)), key


# ------------------------------------------------------------------ broken specs

def _with(base: dict, path: tuple, value) -> dict:
    spec = copy.deepcopy(base)
    _at(spec, path[:-1])[path[-1]] = value
    return spec


BROKEN = [
    ("unknown top-level key", NETWORK, ("sillyness",), 1),
    ("unknown top-level key (graph)", GRAPH, ("network_layers",), 1),
    ("version 2", NETWORK, ("bpcheck",), 2),
    ("id with capitals", NETWORK, ("id",), "Tiny Net"),
    ("questions not a list", NETWORK, ("questions",), 5),
    ("question without quantity", NETWORK, ("questions", 0), {"points": 1}),
    ("form unknown", NETWORK, ("questions", 0, "form"), "essay"),
    ("points too many", NETWORK, ("questions", 0, "points"), 20000),
    ("lr not a number", NETWORK, ("train", "lr"), "fast"),
    ("lr zero", NETWORK, ("train", "lr"), 0),
    ("steps zero", NETWORK, ("train", "steps"), 0),
    ("no layers", NETWORK, ("network", "layers"), []),
    ("layers not a list", NETWORK, ("network", "layers"), "W1"),
    ("layer without weight", NETWORK, ("network", "layers", 0), {"activation": "relu"}),
    ("weight not a name", NETWORK, ("network", "layers", 0, "weight"), "1W"),
    ("unknown activation", NETWORK, ("network", "layers", 0, "activation"), "swish"),
    ("average unknown", NETWORK, ("loss", "average"), "weekly"),
    ("loss factor negative", NETWORK, ("loss", "factor"), -1),
    ("layout unknown", NETWORK, ("data", "layout"), "diagonal"),
    ("x not numbers", NETWORK, ("data", "x"), ["a", "b"]),
    ("params not lists", NETWORK, ("params", "W1"), "[[1, 2]]"),
    ("sigfigs and decimals", NETWORK, ("tolerance",), {"sigfigs": 3, "decimals": 2}),
    ("sigfigs zero", NETWORK, ("tolerance", "sigfigs"), 0),
    ("rtol negative", NETWORK, ("tolerance", "rtol"), -0.1),
    ("ecf not a boolean", NETWORK, ("ecf",), "maybe"),
    ("share above 1", NETWORK, ("ecf_share",), 2),
    ("partial unknown", NETWORK, ("partial",), "some"),
    ("alias not a name", NETWORK, ("names",), {"z1": "S 1"}),
    ("sha256 not hex", NETWORK, ("sha256",), "xyz"),
    ("optimizer unknown", NETWORK, ("train", "optimizer"), "rmsprop"),
    ("adam hyperparameter unknown", NETWORK, ("train", "optimizer"), {"adam": {"beta3": 0.9}}),
    ("graph without nodes", GRAPH, ("graph",), {"inputs": {"w": 1}}),
    ("graph input a mapping", GRAPH, ("graph", "inputs", "w1"), {"a": 1}),
    ("graph node empty", GRAPH, ("graph", "nodes", "s"), ""),
    ("graph reduce unknown", GRAPH, ("reduce",), "max"),
    ("graph train.params empty", GRAPH, ("train", "params"), []),
]


@pytest.mark.parametrize("what, base, path, value", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_specs_are_refused_by_both(what, base, path, value):
    spec = _with(base, path, value)
    assert _reader_error(spec) is not None
    assert check(spec), what


# ------------------------------------------------------------------ the command

@pytest.mark.parametrize("which", ["problem", "answers"])
def test_schema_command_prints_the_schema(which, tmp_path):
    result = CliRunner().invoke(main, ["schema", which])
    assert result.exit_code == 0
    assert json.loads(result.output) == schema.SCHEMAS[which]()
    out = tmp_path / f"{which}.schema.json"
    assert CliRunner().invoke(main, ["schema", which, "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == schema.SCHEMAS[which]()


def test_schema_command_refuses_an_unknown_format():
    result = CliRunner().invoke(main, ["schema", "report"])
    assert result.exit_code == 2 and "Traceback" not in result.output

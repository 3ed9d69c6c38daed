"""emit: exact layout, and every value read back unchanged by YAML 1.1 (PyYAML, libyaml) and 1.2 (ruamel)."""

from __future__ import annotations

import os
import subprocess
import sys
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from generator.manifests import emit as emit_module
from generator.manifests.emit import Slot, compile_template, emit, emit_all, scalar

TRICKY = [
    *["yes", "no", "on", "off", "y", "n", "true", "True", "null", "~", ""],
    *["Yes", "YES", "nO", "ON", "Off", "Y", "N", "TRUE", "False", "Null", "NULL", "nULL"],
    *["0x1F", "1e3", "012", "1_000", ".inf", ".nan", "-.inf", ".NaN", "0o7", "0b1", ".5", "5.", "+1", "-1"],
    *["1:20", "190:20:30.15", "2001:db8::1", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "0", "007"],
    *[":", "#", "- a", "-", "--", "---", "...", "a: b", "a:", "a:b", "a #b", "a#b", " a", "a ", " ", "  "],
    *["=", "<<", "!tag", "!", "&a", "*a", "%x", "@", "`", "{", "}", "[", "]", ",", "?", "? a", "|", ">"],
    *["'", '"', "\\", "a'b", 'a"b', "a\\nb", "a//b", "//", "/", "_", "http://example.com:80/x", "a::b"],
    *["héllo", "日本語", "😀", "\u00a0", "a\nb", "a\n", "\n", "\r\n", "a\tb", "\t", "\x00", "\x07", "\x1b"],
    *["\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029", "\ufeff", "\ufeffa", "\ufffe", "\uffff", "\U0010ffff"],
    *["\u202e", "\u2066", "\u200f", "a\u202eb"],
]
TRICKY_CHARS = sorted({char for text in TRICKY for char in text} | {" ", "\x01", "\x9b", "\ue000"})
SURROGATES = ["\ud800", "\udfff", "a\udc80b", "\ud83d\ude00"]

_ruamel = YAML(typ="safe", pure=True)


def load_each(text: str) -> list[Any]:
    """The document as read by PyYAML (pure Python and libyaml) and by ruamel.yaml in YAML 1.2 mode."""
    return [
        yaml.safe_load(text),
        yaml.load(text, Loader=yaml.CSafeLoader),
        _ruamel.load(text),
    ]


def load_all_each(text: str) -> list[list[Any]]:
    return [
        list(yaml.safe_load_all(text)),
        list(yaml.load_all(text, Loader=yaml.CSafeLoader)),
        list(_ruamel.load_all(text)),
    ]


def substitute(obj: Any, values: dict[str, Any]) -> Any:
    if isinstance(obj, Slot):
        return values[obj.name]
    if isinstance(obj, dict):
        return {key: substitute(value, values) for key, value in obj.items()}
    if isinstance(obj, list):
        return [substitute(item, values) for item in obj]
    return obj


# Strategies ----------------------------------------------------------------------------------------

texts = st.one_of(
    st.text(),
    st.sampled_from(TRICKY),
    st.text(alphabet=st.sampled_from(TRICKY_CHARS) | st.characters(codec="utf-8"), max_size=12),
    st.builds("".join, st.lists(st.sampled_from(TRICKY), max_size=3)),
)
integers = st.integers() | st.sampled_from([0, -1, 2**63, -(2**64), 10**40])
scalars = st.one_of(texts, integers, st.booleans(), st.none())
data = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=20,
)
documents = st.dictionaries(texts, data, max_size=5)

SLOT_NAMES = ["name", "address", "port"]
template_leaves = scalars | st.sampled_from(SLOT_NAMES).map(Slot)
template_documents = st.dictionaries(
    texts,
    st.recursive(
        template_leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
        max_leaves=20,
    ),
    max_size=5,
)
slot_values = st.fixed_dictionaries({name: scalars for name in SLOT_NAMES})


# Properties ----------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(documents)
def test_emit_round_trips_through_every_loader(document: dict[str, Any]) -> None:
    text = emit(document)
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    text.encode("utf-8")
    for loaded in load_each(text):
        assert loaded == document


@settings(max_examples=100, deadline=None)
@given(st.lists(documents, max_size=4))
def test_emit_all_round_trips_through_every_loader(docs: list[dict[str, Any]]) -> None:
    text = emit_all(docs)
    assert text == "---\n".join(emit(doc) for doc in docs)
    for loaded in load_all_each(text):
        assert loaded == docs


@settings(max_examples=200, deadline=None)
@given(template_documents, slot_values)
def test_template_fill_is_emit_of_the_filled_object(document: dict[str, Any], values: dict[str, Any]) -> None:
    assert compile_template(document).fill(values) == emit(substitute(document, values))


@settings(max_examples=200, deadline=None)
@given(scalars)
def test_scalar_is_one_line_and_reads_back(value: str | int | bool | None) -> None:
    text = scalar(value)
    assert "\n" not in text
    for loaded in load_each(f"k: {text}\n"):
        assert loaded == {"k": value}


# Exact text ----------------------------------------------------------------------------------------

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "arena-0",
        "labels": {"app.kubernetes.io/managed-by": "fleetgen", "fleetgen.dev/server": "arena-0"},
        "annotations": {"fleetgen.dev/address": "203.0.113.7"},
    },
    "spec": {
        "nodeSelector": {"kubernetes.io/hostname": "node-a"},
        "containers": [
            {
                "name": "game",
                "image": "registry.example.com:5000/games/arena:1.4.2",
                "args": ["--port", "7000", "serve"],
                "env": [{"name": "FLEETGEN_PORT_GAME", "value": "7000"}],
                "ports": [{"name": "game", "containerPort": 7000, "hostPort": 7000, "protocol": "UDP"}],
                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {}},
                "securityContext": {"runAsNonRoot": True, "privileged": False},
            }
        ],
        "volumes": [],
        "priorityClassName": None,
    },
}

POD_TEXT = """\
apiVersion: v1
kind: Pod
metadata:
  name: arena-0
  labels:
    app.kubernetes.io/managed-by: fleetgen
    fleetgen.dev/server: arena-0
  annotations:
    fleetgen.dev/address: "203.0.113.7"
spec:
  nodeSelector:
    kubernetes.io/hostname: node-a
  containers:
    - name: game
      image: registry.example.com:5000/games/arena:1.4.2
      args:
        - "--port"
        - "7000"
        - serve
      env:
        - name: FLEETGEN_PORT_GAME
          value: "7000"
      ports:
        - name: game
          containerPort: 7000
          hostPort: 7000
          protocol: UDP
      resources:
        requests:
          cpu: "500m"
          memory: "1Gi"
        limits: {}
      securityContext:
        runAsNonRoot: true
        privileged: false
  volumes: []
  priorityClassName: null
"""


def test_pod_layout_is_pinned() -> None:
    assert emit(POD) == POD_TEXT
    for loaded in load_each(POD_TEXT):
        assert loaded == POD


def test_nested_sequences_and_empty_items() -> None:
    document = {"a": [["x", "y"], [], {}, [[1]], {"k": [{"m": None}], "l": 2}], "b": {"c": {"d": []}}}
    expected = """\
a:
  - - x
    - "y"
  - []
  - {}
  - - - 1
  - k:
      - m: null
    l: 2
b:
  c:
    d: []
"""
    assert emit(document) == expected
    for loaded in load_each(expected):
        assert loaded == document


def test_empty_document() -> None:
    assert emit({}) == "{}\n"
    assert emit_all([{}, {"a": 1}]) == "{}\n---\na: 1\n"
    assert emit_all([]) == ""


def test_key_order_is_the_callers() -> None:
    assert emit({"b": 1, "a": 2, "c": {"z": 1, "m": 2}}) == "b: 1\na: 2\nc:\n  z: 1\n  m: 2\n"


def test_template_fills_holes_with_scalars() -> None:
    template = compile_template(
        {"metadata": {"name": Slot("name")}, "spec": {"ports": [Slot("port"), 7001], "on": Slot("flag")}}
    )
    assert template.names == frozenset({"name", "port", "flag"})
    assert template.fill({"name": "arena-3", "port": 7000, "flag": True}) == (
        'metadata:\n  name: arena-3\nspec:\n  ports:\n    - 7000\n    - 7001\n  "on": true\n'
    )
    assert template.fill({"name": "yes", "port": "7000", "flag": None}) == (
        'metadata:\n  name: "yes"\nspec:\n  ports:\n    - "7000"\n    - 7001\n  "on": null\n'
    )
    with pytest.raises(KeyError):
        template.fill({"name": "arena-3"})
    with pytest.raises(TypeError):
        template.fill({"name": "arena-3", "port": 7000, "flag": 1.5})
    with pytest.raises(TypeError):
        template.fill({"name": ["a"], "port": 7000, "flag": True})


# Scalars -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", TRICKY, ids=repr)
def test_tricky_string_round_trips(text: str) -> None:
    document = {"value": text, text: [text, {text: text}]}
    emitted = emit(document)
    emitted.encode("utf-8")
    for loaded in load_each(emitted):
        assert loaded == document


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("arena-0", "arena-0"),
        ("kubernetes.io/hostname", "kubernetes.io/hostname"),
        ("/tmp", "/tmp"),
        ("_x", "_x"),
        ("reg.io:5000/a:1", "reg.io:5000/a:1"),
        ("", '""'),
        ("yes", '"yes"'),
        ("nULL", '"nULL"'),
        ("1:20", '"1:20"'),
        ("a:", '"a:"'),
        ("a b", '"a b"'),
        ("日本", '"日本"'),
        ('say "hi"\\', "'say \"hi\"\\'"),
        ('{"port":7000}', "'{\"port\":7000}'"),
        ('it\'s "x"', '"it\'s \\"x\\""'),
        ("a\tb\nc\r", '"a\\tb\\nc\\r"'),
        ("\x00\x07\x08\x0b\x0c\x1b\x01", '"\\0\\a\\b\\v\\f\\e\\x01"'),
        ("\x7f\x80\x85\x9f\xa0", '"\\x7F\\x80\\N\\x9F\xa0"'),
        ("\u2028\u2029\ufeff\ufffe\uffff", '"\\L\\P\\uFEFF\\uFFFE\\uFFFF"'),
        ("\u202e\u2066", '"\\u202E\\u2066"'),
        ("😀", '"😀"'),
        (0, "0"),
        (-12, "-12"),
        (10**30, "1" + "0" * 30),
        (True, "true"),
        (False, "false"),
        (None, "null"),
    ],
    ids=repr,
)
def test_scalar_text(value: str | int | bool | None, expected: str) -> None:
    assert scalar(value) == expected


class Protocol(StrEnum):
    UDP = "UDP"
    ON = "on"


class Port(IntEnum):
    GAME = 7000


def test_enums_emit_their_value() -> None:
    assert scalar(Protocol.UDP) == "UDP"
    assert scalar(Protocol.ON) == '"on"'
    assert scalar(Port.GAME) == "7000"
    assert emit({Protocol.UDP: Protocol.ON, "port": Port.GAME}) == 'UDP: "on"\nport: 7000\n'


@pytest.mark.parametrize("text", SURROGATES, ids=repr)
def test_surrogates_are_refused(text: str) -> None:
    # libyaml and go-yaml (kubectl, Argo CD, Flux) reject a surrogate escape, and UTF-8 cannot hold one.
    with pytest.raises(ValueError, match="surrogate"):
        scalar(text)
    with pytest.raises(ValueError, match="surrogate"):
        emit({"k": text})
    with pytest.raises(ValueError, match="surrogate"):
        emit({text: 1})


@pytest.mark.parametrize("value", [1.5, (1,), {1}, b"x", object(), Slot("x")], ids=repr)
def test_non_plain_values_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        emit({"k": value})
    with pytest.raises(TypeError):
        emit({"k": [value]})


@pytest.mark.parametrize("key", [1, None, True, Slot("x")], ids=repr)
def test_non_str_keys_are_refused(key: object) -> None:
    with pytest.raises(TypeError, match="keys must be str"):
        emit({key: 1})


def test_documents_must_be_dicts() -> None:
    with pytest.raises(TypeError):
        emit([1])  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["k" * 1001, "\x01" * 300, "a b" * 400], ids=len)
def test_long_keys_use_explicit_key_syntax(key: str) -> None:
    document = {key: {"a": 1}, "x": [{key: [1], "b": 2}, {"c": {key: key}}]}
    text = emit(document)
    assert text.startswith("? ")
    for loaded in load_each(text):
        assert loaded == document


def test_cache_stays_bounded() -> None:
    for index in range(emit_module._CACHE_SIZE + 10):
        assert scalar(f"server-{index}") == f"server-{index}"
        emit({f"key-{index}": 1})
    assert len(emit_module._str_cache) <= emit_module._CACHE_SIZE
    assert len(emit_module._key_cache) <= emit_module._CACHE_SIZE


def test_output_does_not_depend_on_hash_seed() -> None:
    script = (
        "import sys; from generator.manifests.emit import emit; "
        "sys.stdout.write(emit({'b': {'yes': ['x', 1, None]}, 'a': 'é', 'c': {}}))"
    )
    root = Path(__file__).resolve().parent.parent
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "LC_ALL": "C"},
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1

"""YAML as gcloud 528 reads each kind of file: `--config` as YAML 1.1, `--flags-file` as 1.2.

Every expectation below was read by gcloud's own loaders (its bundled ruamel.yaml, through
`googlecloudsdk.core.yaml.load` and `load(..., location_value=True)`); REFUSED marks what
gcloud fails on. tests/test_differential.py checks the same through whole submissions.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from prgcloud import yamlread

REFUSED = object()


@pytest.mark.parametrize(
    ("scalar", "in_flags_file", "in_config"),
    [
        pytest.param("010", 10, 8, id="010"),
        pytest.param("0100", 100, 64, id="0100"),
        pytest.param("09", 9, "09", id="09"),
        pytest.param("0_7", 7, 7, id="0_7"),
        pytest.param("0o10", REFUSED, "0o10", id="0o10"),
        pytest.param("0x1F", REFUSED, 31, id="0x1F"),
        pytest.param("0b11", REFUSED, 3, id="0b11"),
        pytest.param("1_000", 1000, 1000, id="1_000"),
        pytest.param("1__0", REFUSED, 10, id="1__0"),
        pytest.param("+3", 3, 3, id="+3"),
        pytest.param("1:40", "1:40", 100, id="sexagesimal-int"),
        pytest.param("190:20:30.15", "190:20:30.15", 685230.15, id="sexagesimal-float"),
        pytest.param("yes", "yes", True, id="yes"),
        pytest.param("no", "no", False, id="no"),
        pytest.param("on", "on", True, id="on"),
        pytest.param("off", "off", False, id="off"),
        pytest.param("y", "y", True, id="y"),
        pytest.param("n", "n", False, id="n"),
        pytest.param("True", True, True, id="True"),
        pytest.param("TRUE", True, True, id="TRUE"),
        pytest.param("tRue", "tRue", "tRue", id="tRue"),
        pytest.param("~", None, None, id="tilde"),
        pytest.param("Null", None, None, id="Null"),
        pytest.param("", None, None, id="empty"),
        pytest.param("1.5", 1.5, 1.5, id="1.5"),
        pytest.param("1e3", 1000.0, 1000.0, id="1e3"),
        pytest.param("1.0e+3", 1000.0, 1000.0, id="1.0e+3"),
        pytest.param("+.5", 0.5, "+.5", id="+.5"),
        pytest.param(".inf", REFUSED, math.inf, id=".inf"),
        pytest.param("-.inf", REFUSED, -math.inf, id="-.inf"),
        pytest.param("2001-12-14", REFUSED, REFUSED, id="date"),
        pytest.param("2001-12-14t21:59:43.10-05:00", REFUSED, REFUSED, id="timestamp"),
        pytest.param("=", "=", REFUSED, id="value-indicator"),
        pytest.param("0x", "0x", "0x", id="0x"),
        pytest.param("-_", REFUSED, REFUSED, id="sign-underscore"),
        pytest.param("9" * 5000, REFUSED, REFUSED, id="integer-over-4300-digits"),
    ],
)
def test_a_scalar_reads_as_gcloud_reads_it(scalar: str, in_flags_file: Any, in_config: Any) -> None:
    for load, expected in (
        (yamlread.load_flags_file, in_flags_file),
        (yamlread.load_config, in_config),
    ):
        if expected is REFUSED:
            with pytest.raises(yamlread.YamlError):
                load(f"k: {scalar}\n")
        else:
            value = load(f"k: {scalar}\n")["k"]
            assert value == expected
            assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "in_flags_file", "in_config"),
    [
        pytest.param("a: 1\na: 2\n", REFUSED, {"a": 1}, id="a-key-twice"),
        pytest.param("<<: {a: 1, b: 1}\nb: 2\n", {"a": 1, "b": 2}, {"a": 1, "b": 2}, id="merge"),
        pytest.param("a: &x [1]\nb: *x\n", {"a": [1], "b": [1]}, {"a": [1], "b": [1]}, id="alias"),
        pytest.param("a: &x [*x]\n", REFUSED, REFUSED, id="an-alias-to-itself"),
        pytest.param("a: !!omap [x: 1]\n", {"a": {"x": 1}}, {"a": {"x": 1}}, id="omap"),
        pytest.param("a: !!set {x}\n", REFUSED, REFUSED, id="set"),
        pytest.param("a: !!binary aGk=\n", REFUSED, REFUSED, id="binary"),
        pytest.param("a: !local x\n", {"a": "x"}, REFUSED, id="a-local-tag"),
        pytest.param("a: !!int 0x10\n", REFUSED, {"a": 16}, id="explicit-int"),
        pytest.param("a: !!str 010\n", {"a": "010"}, {"a": "010"}, id="explicit-str"),
        pytest.param("a: !!bool yes\n", {"a": False}, {"a": True}, id="explicit-bool"),
        pytest.param("? [a]\n: 1\n", REFUSED, REFUSED, id="a-list-as-a-key"),
        pytest.param("a: 1\n---\nb: 2\n", REFUSED, REFUSED, id="two-documents"),
        pytest.param("# nothing\n", None, None, id="only-a-comment"),
    ],
)
def test_a_document_reads_as_gcloud_reads_it(text: str, in_flags_file: Any, in_config: Any) -> None:
    for load, expected in (
        (yamlread.load_flags_file, in_flags_file),
        (yamlread.load_config, in_config),
    ):
        if expected is REFUSED:
            with pytest.raises(yamlread.YamlError):
                load(text)
        else:
            assert load(text) == expected


def nested(levels: int) -> str:
    return "[" * (levels - 1) + "x" + "]" * (levels - 1)


def test_nesting_is_bounded() -> None:
    assert yamlread.load_config(nested(yamlread.MAX_DEPTH))

    with pytest.raises(yamlread.YamlError, match="nests more than 64 levels deep"):
        yamlread.load_config(nested(yamlread.MAX_DEPTH + 1))


def test_values_are_bounded_once_aliases_are_expanded() -> None:
    # 2 ** 17 values from 18 short lines: each list holds the one before it twice.
    lines = ["a0: &a0 [x, x]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 17)]

    with pytest.raises(yamlread.YamlError, match="more than 100,000 values once its aliases"):
        yamlread.load_flags_file("\n".join(lines) + "\n")


def test_values_are_bounded_while_parsing() -> None:
    with pytest.raises(yamlread.YamlError, match="more than 100,000 values"):
        yamlread.load_config("[" + "1," * yamlread.MAX_NODES + "1]")


def test_explicit_tags_are_bounded_before_parsing() -> None:
    with pytest.raises(yamlread.YamlError, match="more than 100,000 tags"):
        yamlread.load_config("[" + "!!str a," * (yamlread.MAX_NODES + 1) + "a]")


@pytest.mark.parametrize("text", ["y", "n", "yes", "off", "1e3", "010", "1:40", "~", "2001-12-14"])
def test_the_config_dumper_quotes_what_gcloud_would_not_read_as_text(text: str) -> None:
    dumped = yaml.dump({"args": [text]}, Dumper=yamlread.ConfigDumper)

    assert yamlread.load_config(dumped) == {"args": [text]}

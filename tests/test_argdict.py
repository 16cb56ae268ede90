"""gcloud's ArgList and ArgDict (calliope/arg_parsers.py), rule by rule (docs/reading-flags.md).

Every expectation here was checked against gcloud 528's own `ArgList()` / `ArgDict(spec=...)`.
"""

from __future__ import annotations

from typing import Any

import pytest

from prgcloud import argdict, job, schemas
from prgcloud.argdict import ArgTypeError, parse_dict, semicolon_list, split_list

# A small spec with one key of each converter kind the worker-pool spec uses.
SPEC = {"count": int, "name": str, "items": semicolon_list}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("a,b", ["a", "b"], id="split-on-commas"),
        pytest.param("a", ["a"], id="one-item"),
        pytest.param("", [], id="empty-value-is-an-empty-list"),
        pytest.param(" a , b ", [" a ", " b "], id="spaces-are-kept"),
        pytest.param("a,b,", ["a", "b"], id="one-trailing-delimiter-is-ignored"),
        pytest.param("a,b,,", ["a", "b", ""], id="two-trailing-delimiters-keep-an-empty-item"),
        pytest.param("a,,b", ["a", "", "b"], id="an-empty-list-item-is-kept"),
        pytest.param(",", [""], id="a-lone-delimiter-is-one-empty-item"),
        pytest.param("^:^a,b:c", ["a,b", "c"], id="alternate-one-character-delimiter"),
        pytest.param("^::^a:b::c", ["a:b", "c"], id="alternate-two-character-delimiter"),
        pytest.param("^::^a:b:::c", ["a:b", ":c"], id="long-delimiter-matches-leftmost"),
        pytest.param("^|^x|y", ["x", "y"], id="alternate-pipe-delimiter"),
        pytest.param("^:^a:", ["a"], id="trailing-alternate-delimiter-is-ignored"),
        pytest.param("^:^a::", ["a", ""], id="two-trailing-alternate-delimiters"),
        pytest.param("^:^", [], id="only-an-alternate-delimiter-is-empty"),
        pytest.param("^", ["^"], id="a-lone-caret-is-a-value"),
        pytest.param("^a", ["^a"], id="a-caret-without-a-closing-one-is-a-value"),
        pytest.param("^,^^a^,b,c", ["^a^", "b", "c"], id="carets-after-the-delimiter-are-values"),
    ],
)
def test_a_list_splits_as_gcloud_does(value: str, expected: list[str]) -> None:
    assert split_list(value) == expected


def test_an_empty_alternate_delimiter_is_refused() -> None:
    with pytest.raises(ArgTypeError, match=r"^Invalid delimeter\. .*gcloud topic escaping"):
        split_list("^^a,b")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("k=v", {"k": "v"}, id="one-pair"),
        pytest.param("k=v=w,x=1", {"k": "v=w", "x": "1"}, id="split-at-the-first-equals-sign"),
        pytest.param("k=", {"k": ""}, id="an-empty-value"),
        pytest.param("a=1,A=2", {"a": "1", "A": "2"}, id="keys-are-case-sensitive"),
        pytest.param("k=1,k=2", {"k": "2"}, id="the-last-duplicate-wins"),
        pytest.param("a=1,", {"a": "1"}, id="one-trailing-delimiter-is-ignored"),
        pytest.param("^;^a=1,2;b=3", {"a": "1,2", "b": "3"}, id="alternate-delimiter"),
        pytest.param("^;;^a=1;2;;b=3", {"a": "1;2", "b": "3"}, id="multi-character-delimiter"),
        pytest.param("k=a\nb", {"k": "a\nb"}, id="a-newline-in-a-value"),
        pytest.param("", {}, id="an-empty-value-is-an-empty-dict"),
    ],
)
def test_a_dict_parses_as_gcloud_does(value: str, expected: dict[str, str]) -> None:
    assert parse_dict(value) == expected


def test_the_last_duplicate_keeps_the_first_position() -> None:
    assert list(parse_dict("a=1,b=2,a=3")) == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("a=1,,b=2", r"^Invalid flag value \[\]$", id="empty-item-in-the-middle"),
        pytest.param("a=1,,", r"^Invalid flag value \[\]$", id="two-trailing-delimiters"),
        pytest.param(",", r"^Invalid flag value \[\]$", id="only-a-delimiter"),
        pytest.param("=v", r"^Invalid flag value \[=v\]$", id="empty-key"),
        pytest.param(
            "a", r"^Bad syntax for dict arg: \[a\]\. .*topic escaping", id="key-without-equals-sign"
        ),
        pytest.param(
            "a=1,b", r"^Bad syntax for dict arg: \[b\]\.", id="second-key-without-equals-sign"
        ),
        pytest.param("^^a=1", r"^Invalid delimeter\.", id="empty-alternate-delimiter"),
    ],
)
def test_a_malformed_dict_is_refused_with_gcloud_wording(value: str, message: str) -> None:
    with pytest.raises(ArgTypeError, match=message):
        parse_dict(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("count=2", 2, id="plain"),
        pytest.param("count= 2 ", 2, id="surrounding-spaces"),
        pytest.param("count=+3", 3, id="plus-sign"),
        pytest.param("count=1_0", 10, id="underscore-digit-separator"),
        pytest.param("count=-1", -1, id="negative-parses"),
        pytest.param("count=007", 7, id="leading-zeros"),
    ],
)
def test_int_keys_parse_like_python_int(value: str, expected: int) -> None:
    assert parse_dict(value, SPEC) == {"count": expected}


@pytest.mark.parametrize("raw", ["x", "", "1.5", "0x10", "1e3", "2 3"])
def test_an_int_key_that_python_int_refuses_is_an_error(raw: str) -> None:
    with pytest.raises(ArgTypeError, match=rf"^Invalid value \[{raw}\] for key \[count\]$"):
        parse_dict(f"count={raw}", SPEC)


def test_a_negative_count_parses_but_the_schema_refuses_it() -> None:
    pool = parse_dict("replica-count=-1", job.flag_spec_converters())

    assert pool == {"replica-count": -1}
    assert list(schemas.errors(pool, schemas.worker_pool_spec())) == [
        ("replica-count", "must be at least 1, found -1")
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("items=a;b", ["a", "b"], id="semicolons-split"),
        pytest.param("items=a", ["a"], id="one-item"),
        pytest.param("items=", [], id="empty"),
        pytest.param("items=a;b;", ["a", "b"], id="one-trailing-semicolon-is-ignored"),
        pytest.param("items=^|^a;b|c", ["a;b", "c"], id="alternate-delimiter-inside"),
        pytest.param("^#^items=a,b;c#name=n", ["a,b", "c"], id="commas-under-an-outer-delimiter"),
    ],
)
def test_list_keys_split_on_semicolons(value: str, expected: list[str]) -> None:
    assert parse_dict(value, SPEC)["items"] == expected


def test_semicolon_list_does_not_split_on_commas() -> None:
    assert semicolon_list("a,b;c") == ["a,b", "c"]


def test_requirements_with_version_ranges_need_an_outer_delimiter() -> None:
    value = "^#^machine-type=n1#requirements=numpy>=1,<2;pandas==2.2#extra-dirs=data;conf"

    assert parse_dict(value, job.flag_spec_converters()) == {
        "machine-type": "n1",
        "requirements": ["numpy>=1,<2", "pandas==2.2"],
        "extra-dirs": ["data", "conf"],
    }


def test_an_unknown_key_lists_the_valid_keys() -> None:
    with pytest.raises(ArgTypeError) as caught:
        parse_dict("name=x,Name=y", SPEC)

    assert str(caught.value) == "valid keys are [count, items, name]; received: Name"


def test_the_worker_pool_spec_keys_are_gclouds_plus_the_two_disk_keys() -> None:
    with pytest.raises(ArgTypeError) as caught:
        job.parse_flag_pool("machine-type=n1,bogus=1")

    assert str(caught.value) == (
        "valid keys are [accelerator-count, accelerator-type, container-image-uri, disk-size, "
        "disk-type, executor-image-uri, extra-dirs, extra-packages, local-package-path, "
        "machine-type, output-image-uri, python-module, replica-count, requirements, script]; "
        "received: bogus"
    )


@pytest.mark.parametrize(
    ("key", "converter"),
    [
        ("replica-count", int),
        ("accelerator-count", int),
        ("disk-size", int),
        ("machine-type", str),
        ("requirements", semicolon_list),
        ("extra-dirs", semicolon_list),
        ("extra-packages", semicolon_list),
    ],
)
def test_each_worker_pool_key_converts_as_gclouds_arg_dict_spec(key: str, converter: Any) -> None:
    assert job.flag_spec_converters()[key] is converter


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {"machine-type": "n1", "replica-count": 2, "requirements": ["a", "b"]},
            {"machine-type": "n1", "replica-count": 2, "requirements": ["a", "b"]},
            id="yaml-types-kept",
        ),
        pytest.param(
            {"replica-count": "3", "requirements": "a;b"},
            {"replica-count": 3, "requirements": ["a", "b"]},
            id="strings-converted",
        ),
        pytest.param({}, {}, id="an-empty-mapping-is-a-placeholder"),
    ],
)
def test_a_flags_file_mapping_converts_like_the_command_line(
    value: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert job.parse_flag_pool(value) == expected


def test_a_flags_file_list_is_not_a_worker_pool_spec() -> None:
    with pytest.raises(ArgTypeError, match=r"^Invalid type \[list\] for flag value"):
        job.parse_flag_pool([{"machine-type": "n1"}])


def test_a_null_value_in_a_flags_file_mapping_is_bad_syntax() -> None:
    with pytest.raises(ArgTypeError, match=r"Bad syntax for dict arg: \[machine-type\]"):
        job.parse_flag_pool({"machine-type": None, "container-image-uri": "i"})


def test_converters_name_every_x_arg_type_the_schema_uses() -> None:
    used = {p["x-arg-type"] for p in schemas.worker_pool_spec()["properties"].values()}
    assert used == set(argdict.CONVERTERS)

"""The argv tokenizer: what gcloud's argparse (and its --flags-file expansion) makes of argv.

Expectations were checked against gcloud 528 (`gcloud ai custom-jobs create ...`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from prgcloud.errors import Problem
from prgcloud.flags import FLAGS, Tokens, tokenize


def seen(tokens: Tokens) -> list[tuple[str, Any, tuple[int, ...]]]:
    """The occurrences as (flag, value, argv items), the shape the tables are written in."""
    return [(o.flag.name, o.value, o.argv_items) for o in tokens.occurrences]


def read(argv: Sequence[str], cwd: Path | str = ".", stdin: str | None = None) -> Tokens:
    """Tokenize argv in `cwd`; `stdin` is standard input's text (None: there is none)."""
    read_stdin = None if stdin is None else io.StringIO(stdin).read
    return tokenize(argv, cwd=str(cwd), read_stdin=read_stdin)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--display-name=x"], [("--display-name", "x", (0,))], id="flag=value"),
        pytest.param(["--display-name", "x"], [("--display-name", "x", (0, 1))], id="flag-value"),
        pytest.param(["--display-name="], [("--display-name", "", (0,))], id="flag=empty"),
        pytest.param(["--display-name=a=b"], [("--display-name", "a=b", (0,))], id="first-equals"),
        pytest.param(["--display-name=-x"], [("--display-name", "-x", (0,))], id="flag=dash-value"),
        pytest.param(["--display-name", "-5"], [("--display-name", "-5", (0, 1))], id="negative"),
        pytest.param(
            ["--display-name", "-1.5"], [("--display-name", "-1.5", (0, 1))], id="negative-float"
        ),
        pytest.param(["--display-name", "-.5"], [("--display-name", "-.5", (0, 1))], id="-.5"),
        pytest.param(["--display-name", "-"], [("--display-name", "-", (0, 1))], id="lone-dash"),
        pytest.param(
            ["--display-name=a", "--display-name", "b"],
            [("--display-name", "a", (0,)), ("--display-name", "b", (1, 2))],
            id="repeated-value-flag-keeps-both",
        ),
        pytest.param(
            ["--worker-pool-spec=a=1", "--worker-pool-spec", "b=2"],
            [("--worker-pool-spec", "a=1", (0,)), ("--worker-pool-spec", "b=2", (1, 2))],
            id="append-flag-in-order",
        ),
        pytest.param(["--enable-web-access"], [("--enable-web-access", True, (0,))], id="bool"),
        pytest.param(
            ["--no-enable-web-access"], [("--enable-web-access", False, (0,))], id="no-bool"
        ),
        pytest.param(
            ["--no-enable-dashboard-access"],
            [("--enable-dashboard-access", False, (0,))],
            id="no-dashboard",
        ),
        pytest.param(["-q"], [("--quiet", True, (0,))], id="-q"),
        pytest.param(["-h"], [("--help", True, (0,))], id="-h"),
        pytest.param(["--no-log-http"], [("--log-http", False, (0,))], id="no-log-http"),
        pytest.param(
            ["--no-user-output-enabled"],
            [("--user-output-enabled", False, (0,))],
            id="no-user-output-enabled",
        ),
        pytest.param(["--dry-run"], [("--dry-run", None, (0,))], id="dry-run"),
        pytest.param(["--dry-run=rest"], [("--dry-run", "rest", (0,))], id="dry-run=rest"),
        pytest.param(
            ["--wait-for-capacity"], [("--wait-for-capacity", None, (0,))], id="wait-for-capacity"
        ),
        pytest.param(
            ["--wait-for-capacity=10m"], [("--wait-for-capacity", "10m", (0,))], id="wait=10m"
        ),
        pytest.param(["--skip-precheck"], [("--skip-precheck", True, (0,))], id="skip-precheck"),
        pytest.param(["--no-strict"], [("--strict", False, (0,))], id="no-strict"),
        pytest.param(
            ["--project", "p", "--format=json", "--verbosity", "debug"],
            [
                ("--project", "p", (0, 1)),
                ("--format", "json", (2,)),
                ("--verbosity", "debug", (3, 4)),
            ],
            id="global-flags",
        ),
    ],
)
def test_argv_reads_as_gcloud_reads_it(argv: list[str], expected: list[Any]) -> None:
    tokens = read(argv)

    assert tokens.problems == []
    assert seen(tokens) == expected


@pytest.mark.parametrize(
    ("argv", "problems"),
    [
        pytest.param(
            ["--display-name"],
            [Problem("--display-name", "expected one argument")],
            id="value-missing-at-the-end",
        ),
        pytest.param(
            ["--display-name", "--network=n"],
            [Problem("--display-name", "expected one argument")],
            id="value-missing-before-a-flag",
        ),
        pytest.param(
            ["--args", "-5,-x"],
            [
                Problem("--args", "expected one argument"),
                Problem("", "unrecognized arguments: -5,-x"),
            ],
            id="dash-value-that-is-not-a-number",
        ),
        pytest.param(
            ["--display-name", "-x"],
            [
                Problem("--display-name", "expected one argument"),
                Problem("", "unrecognized arguments: -x"),
            ],
            id="dash-value",
        ),
        pytest.param(
            ["--bogus"],
            [Problem("", "unrecognized arguments: --bogus (did you mean '--args'?)")],
            id="unknown",
        ),
        pytest.param(
            ["--bogus=1"],
            [Problem("", "unrecognized arguments: --bogus=1 (did you mean '--args'?)")],
            id="unknown=value",
        ),
        pytest.param(
            ["--display=x"],
            [Problem("", "unrecognized arguments: --display=x (did you mean '--display-name'?)")],
            id="no-abbreviations",
        ),
        pytest.param(["job"], [Problem("", "unrecognized arguments: job")], id="positional"),
        pytest.param(
            ["--no-display-name"],
            [
                Problem(
                    "", "unrecognized arguments: --no-display-name (did you mean '--display-name'?)"
                )
            ],
            id="no-form-of-a-value-flag",
        ),
        pytest.param(
            ["--no-dry-run"],
            [Problem("", "unrecognized arguments: --no-dry-run (did you mean '--dry-run'?)")],
            id="no-form-of-an-optional-value-flag",
        ),
        pytest.param(
            ["--enable-web-access=yes"],
            [Problem("--enable-web-access", "ignored explicit argument 'yes'")],
            id="bool-with-value",
        ),
        pytest.param(
            ["--quiet=1"],
            [Problem("--quiet", "ignored explicit argument '1'")],
            id="quiet-with-value",
        ),
        pytest.param(
            ["--dry-run", "rest"],
            [Problem("", "unrecognized arguments: rest")],
            id="dry-run-never-takes-the-next-item",
        ),
        pytest.param(
            ["--no-quiet"],
            [Problem("", "unrecognized arguments: --no-quiet (did you mean '--quiet'?)")],
            id="no-quiet",
        ),
        pytest.param(
            ["--no-help"],
            [Problem("", "unrecognized arguments: --no-help (did you mean '--help'?)")],
            id="no-help",
        ),
    ],
)
def test_argv_problems_are_reported_as_gcloud_words_them(
    argv: list[str], problems: list[Problem]
) -> None:
    assert read(argv).problems == problems


def test_reading_goes_on_after_a_problem() -> None:
    tokens = read(["--bogus", "--display-name", "x", "--enable-web-access=1", "-q"])

    assert [str(p) for p in tokens.problems] == [
        "unrecognized arguments: --bogus (did you mean '--args'?)",
        "argument --enable-web-access: ignored explicit argument '1'",
    ]
    assert seen(tokens) == [
        ("--display-name", "x", (1, 2)),
        ("--enable-web-access", True, (3,)),
        ("--quiet", True, (4,)),
    ]


def test_a_dash_value_with_a_space_is_a_value() -> None:
    tokens = read(["--args", "--epochs 5"])

    assert tokens.problems == []
    assert seen(tokens) == [("--args", "--epochs 5", (0, 1))]


def test_last_all_and_given_answer_about_one_flag() -> None:
    tokens = read(["--labels=a=1", "--display-name=x", "--labels=b=2", "--display-name=y"])

    assert tokens.last("--display-name") == "y"
    assert [o.value for o in tokens.all("--labels")] == ["a=1", "b=2"]
    assert tokens.given("--labels")
    assert not tokens.given("--network")
    assert tokens.last("--network") is None


def test_prgcloud_s_own_flags_are_never_gcloud_s() -> None:
    ours = {name for name, flag in FLAGS.items() if flag.scope == "prgcloud"}
    assert ours == {
        "--dry-run",
        "--skip-precheck",
        "--strict",
        "--wait-for-capacity",
        "--wait",
        "--stream-logs",
    }


# --- --flags-file ---------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Callable[..., Path]:
    """Write files into tmp_path (the working directory); returns tmp_path."""

    def write(**contents: str) -> Path:
        for name, text in contents.items():
            (tmp_path / name.replace("_", ".")).write_text(text, encoding="utf-8")
        return tmp_path

    return write


def from_file(tokens: Tokens) -> list[tuple[str, Any]]:
    return [(o.flag.name, o.value) for o in tokens.occurrences]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "--display-name: job\n--region: us-central1\n",
            [("--display-name", "job"), ("--region", "us-central1")],
            id="a-mapping",
        ),
        pytest.param(
            "- --worker-pool-spec: {machine-type: n1}\n- --worker-pool-spec: {}\n",
            [("--worker-pool-spec", {"machine-type": "n1"}), ("--worker-pool-spec", {})],
            id="a-list-of-mappings-repeats-a-flag",
        ),
        pytest.param(
            "--args: [a, 'b,c']\n--labels: {k: v}\n",
            [("--args", ["a", "b,c"]), ("--labels", {"k": "v"})],
            id="lists-and-mappings-stay-structured",
        ),
        pytest.param(
            "--display-name: 5\n--persistent-resource-id: 1.5\n",
            [("--display-name", "5"), ("--persistent-resource-id", "1.5")],
            id="scalars-become-text",
        ),
        pytest.param(
            "--enable-web-access: true\n--quiet: true\n",
            [("--enable-web-access", True), ("--quiet", True)],
            id="booleans",
        ),
        pytest.param("--dry-run: rest\n", [("--dry-run", "rest")], id="prgcloud-flags-too"),
    ],
)
def test_a_flags_file_holds_flags(
    files: Callable[..., Path], text: str, expected: list[Any]
) -> None:
    cwd = files(flags_yaml=text)

    tokens = read(["--flags-file=flags.yaml"], cwd)

    assert tokens.problems == []
    assert from_file(tokens) == expected
    assert all(o.from_flags_file == 0 and o.argv_items == () for o in tokens.occurrences)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "--enable-web-access: false\n",
            [("--enable-web-access", True)],
            id="false-still-names-the-flag",
        ),
        pytest.param(
            "--no-enable-web-access: true\n",
            [("--enable-web-access", False)],
            id="the-no-form",
        ),
    ],
)
def test_a_boolean_in_a_flags_file_is_the_bare_flag(
    files: Callable[..., Path], text: str, expected: list[Any]
) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(flags_yaml=text))

    assert tokens.problems == []
    assert from_file(tokens) == expected


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        pytest.param("--display-name:\n", "--display-name", id="null"),
        pytest.param("--display-name: true\n", "--display-name", id="a-boolean"),
        pytest.param("--worker-pool-spec:\n", "--worker-pool-spec", id="null-for-a-repeatable"),
    ],
)
def test_a_null_or_boolean_for_a_flag_that_takes_a_value_is_missing(
    files: Callable[..., Path], text: str, flag: str
) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(flags_yaml=text))

    assert tokens.problems == [Problem(flag, "expected one argument")]
    assert tokens.occurrences == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("--skip-precheck: false\n", [("--skip-precheck", True)], id="bare-flag"),
        pytest.param("--no-strict: true\n", [("--strict", False)], id="no-form"),
        pytest.param("--no-log-http: true\n", [("--log-http", False)], id="gcloud-no-form"),
        pytest.param("--dry-run:\n", [("--dry-run", None)], id="optional-value-flag-without-one"),
    ],
)
def test_prgcloud_and_global_switches_in_a_flags_file_are_bare_flags(
    files: Callable[..., Path], text: str, expected: list[Any]
) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(flags_yaml=text))

    assert tokens.problems == []
    assert from_file(tokens) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("--network: 010\n", "10", id="010-is-ten"),
        pytest.param("--network: 0100\n", "100", id="0100-is-a-hundred"),
        pytest.param("--network: 1:40\n", "1:40", id="sexagesimal-is-text"),
        pytest.param("--network: yes\n", "yes", id="yes-is-text"),
        pytest.param("--network: off\n", "off", id="off-is-text"),
        pytest.param("--network: 1e3\n", "1000.0", id="a-float-is-pythons-text-of-it"),
        pytest.param("--network: 1_000\n", "1000", id="underscores"),
        pytest.param("--network: '010'\n", "010", id="quoted-stays"),
    ],
)
def test_a_flags_file_is_yaml_1_2_with_gclouds_scalars(
    files: Callable[..., Path], text: str, expected: str
) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(flags_yaml=text))

    assert tokens.problems == []
    assert tokens.last("--network") == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "--enable-web-access: yes\n",
            Problem("--enable-web-access", "ignored explicit argument 'yes'"),
            id="yes-for-a-switch",
        ),
        pytest.param(
            "--quiet: 1\n", Problem("--quiet", "ignored explicit argument '1'"), id="one-for-quiet"
        ),
        pytest.param(
            "--enable-web-access: [a]\n",
            Problem("", "unrecognized arguments: --enable-web-access ['a']"),
            id="a-list-for-a-switch",
        ),
    ],
)
def test_a_switch_given_a_value_in_a_flags_file_is_refused_as_gcloud_does(
    files: Callable[..., Path], text: str, problem: Problem
) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(flags_yaml=text))

    assert tokens.problems == [problem]
    assert tokens.occurrences == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("--network: 2001-12-14\n", "a date or time", id="a-date"),
        pytest.param("--network: a\n--network: b\n", "found the key '--network' twice", id="twice"),
        pytest.param("--network: 0x10\n", "is not a number gcloud reads", id="hex"),
        pytest.param("--network: .inf\n", "is not a number gcloud reads", id="infinity"),
        pytest.param("--args: [a, 1]\n", "Invalid value [1]: expected a string", id="not-text"),
        pytest.param("--args: [a, true]\n", "Invalid value [True]", id="a-boolean-item"),
    ],
)
def test_what_gcloud_fails_on_in_a_flags_file_is_a_problem(
    files: Callable[..., Path], text: str, fragment: str
) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(flags_yaml=text))

    assert len(tokens.problems) == 1
    assert fragment in tokens.problems[0].message


def test_a_flags_file_has_no_no_form_gcloud_lacks(files: Callable[..., Path]) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(flags_yaml="--no-quiet: true\n"))

    assert tokens.problems == [Problem("--flags-file", "flags.yaml: unrecognized flag --no-quiet")]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["--display-name=cli", "--flags-file=flags.yaml"], "file", id="file-after-wins"
        ),
        pytest.param(
            ["--flags-file=flags.yaml", "--display-name=cli"], "cli", id="flag-after-wins"
        ),
        pytest.param(["--flags-file", "flags.yaml", "--display-name=cli"], "cli", id="space-form"),
    ],
)
def test_flags_file_entries_take_the_place_of_the_flag(
    files: Callable[..., Path], argv: list[str], expected: str
) -> None:
    tokens = read(argv, files(flags_yaml="--display-name: file\n"))

    assert tokens.last("--display-name") == expected


def test_the_flags_file_items_are_remembered(files: Callable[..., Path]) -> None:
    cwd = files(flags_yaml="--display-name: job\n")

    tokens = read(["-q", "--flags-file", "flags.yaml", "--flags-file=flags.yaml"], cwd)

    assert tokens.flags_file_items == {1, 2, 3}
    assert [o.from_flags_file for o in tokens.occurrences] == [None, 1, 3]
    assert not tokens.given("--flags-file")


def test_a_flags_file_may_name_other_flags_files(files: Callable[..., Path]) -> None:
    cwd = files(
        outer_yaml="--display-name: outer\n--flags-file: [a.yaml, b.yaml]\n--region: r\n",
        a_yaml="--network: a\n",
        b_yaml="--flags-file: c.yaml\n",
        c_yaml="--labels: {c: d}\n",
    )

    tokens = read(["--flags-file=outer.yaml"], cwd)

    assert tokens.problems == []
    assert from_file(tokens) == [
        ("--display-name", "outer"),
        ("--network", "a"),
        ("--labels", {"c": "d"}),
        ("--region", "r"),
    ]


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        pytest.param(
            {"flags_yaml": "--flags-file: flags.yaml\n"},
            "recursive reference (flags.yaml).",
            id="refers-to-itself",
        ),
        pytest.param(
            {
                "flags_yaml": "--flags-file: other.yaml\n",
                "other_yaml": "--flags-file: flags.yaml\n",
            },
            "recursive reference (flags.yaml > other.yaml).",
            id="refers-back-through-another",
        ),
        pytest.param({}, "[flags.yaml] not found.", id="missing"),
        pytest.param({"flags_yaml": ""}, "[flags.yaml] is empty.", id="empty"),
        pytest.param(
            {"flags_yaml": "- a\n"},
            "flags.yaml: file must contain a dictionary or list of dictionaries.",
            id="not-a-mapping",
        ),
        pytest.param(
            {"flags_yaml": "just text\n"},
            "flags.yaml: file must contain a dictionary or list of dictionaries.",
            id="a-scalar",
        ),
        pytest.param(
            {"flags_yaml": "--bogus: 1\n"}, "flags.yaml: unrecognized flag --bogus", id="unknown"
        ),
        pytest.param({"flags_yaml": "a: [\n"}, "[flags.yaml] is not valid YAML", id="bad-yaml"),
    ],
)
def test_a_bad_flags_file_is_reported(
    files: Callable[..., Path], contents: dict[str, str], message: str
) -> None:
    tokens = read(["--flags-file=flags.yaml"], files(**contents))

    assert len(tokens.problems) == 1
    assert tokens.problems[0].where == "--flags-file"
    assert tokens.problems[0].message.startswith(message)


def test_a_flags_file_path_is_relative_to_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "flags.yaml").write_text("--display-name: job\n", encoding="utf-8")

    assert read(["--flags-file=sub/flags.yaml"], tmp_path).last("--display-name") == "job"
    assert read(["--flags-file=flags.yaml"], tmp_path / "sub").last("--display-name") == "job"


def test_a_flags_file_may_come_from_standard_input() -> None:
    tokens = read(["--flags-file", "-"], stdin="--display-name: piped\n")

    assert tokens.problems == []
    assert tokens.last("--display-name") == "piped"
    assert tokens.stdin_read


def test_standard_input_is_read_only_once() -> None:
    tokens = read(["--flags-file=-", "--flags-file=-"], stdin="--display-name: a\n")

    assert tokens.problems == [Problem("--flags-file", "standard input can be read only once.")]
    assert tokens.last("--display-name") == "a"


def test_standard_input_that_is_not_there_is_a_problem() -> None:
    tokens = read(["--flags-file=-"], stdin=None)

    assert tokens.problems == [Problem("--flags-file", "standard input can be read only once.")]
    assert not tokens.stdin_read

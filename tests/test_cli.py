"""The dispatcher: which verb runs, and what the CLI says on its own."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from prgcloud import __version__, cli
from prgcloud.environment import Environment


def run(argv: list[str], tmp_path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        environ={"CLOUDSDK_CONFIG": str(tmp_path), "PATH": ""},
        stdin=io.StringIO(),
        stdout=out,
        stderr=err,
        cwd=str(tmp_path),
    )
    return cli.main(argv, env), out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("argv", "found"),
    [
        pytest.param(["ai", "custom-jobs", "create", "--x"], ("create", None, ["--x"]), id="ga"),
        pytest.param(["beta", "ai", "custom-jobs", "create"], ("create", "beta", []), id="beta"),
        pytest.param(["alpha", "ai", "custom-jobs", "check"], ("check", "alpha", []), id="check"),
        pytest.param(
            ["ai", "persistent-resources", "capacity", "r"], ("capacity", None, ["r"]), id="cap"
        ),
        pytest.param(["emulator", "start"], ("emulator", None, ["start"]), id="emulator"),
        pytest.param(["shim-path"], ("shim_path", None, []), id="shim-path"),
        pytest.param(["beta", "emulator", "start"], None, id="no-track-outside-ai"),
        pytest.param(["ai", "custom-jobs", "list"], None, id="not-ours"),
    ],
)
def test_each_verb_finds_its_module(
    argv: list[str], found: tuple[str, str | None, list[str]] | None
) -> None:
    assert cli.find_verb(argv) == found


def test_an_unknown_command_is_bad_input(tmp_path: Path) -> None:
    status, out, err = run(["ai", "models", "list"], tmp_path)
    assert status == 2
    assert out == ""
    assert err.startswith("ERROR: (prgcloud) unknown command: ai models list")


def test_no_arguments_at_all_is_bad_input_with_the_usage(tmp_path: Path) -> None:
    status, out, err = run([], tmp_path)
    assert (status, out) == (2, "")
    assert err.startswith("usage: prgcloud")


def test_help_and_version_answer_on_stdout(tmp_path: Path) -> None:
    assert run(["--help"], tmp_path)[:2] == (0, cli.USAGE)
    assert run(["--version"], tmp_path)[:2] == (0, f"prgcloud {__version__}\n")


def test_a_dry_run_runs_in_process_and_never_needs_gcloud(tmp_path: Path) -> None:
    status, out, err = run(
        [
            "ai",
            "custom-jobs",
            "create",
            "--project=p",
            "--region=us-central1",
            "--display-name=d",
            "--worker-pool-spec=machine-type=n1,container-image-uri=i",
            "--dry-run",
        ],
        tmp_path,
    )
    assert (status, err) == (0, "")
    assert "gcloud ai custom-jobs create" in out


def test_an_error_is_one_message_and_its_exit_code(tmp_path: Path) -> None:
    status, _, err = run(["ai", "custom-jobs", "create", "--display-name=d"], tmp_path)
    assert status == 2
    assert err.startswith("ERROR: (prgcloud) argument --region:")
    assert "Traceback" not in err

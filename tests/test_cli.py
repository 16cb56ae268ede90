"""The dispatcher: which verb runs, what the CLI says on its own, and what it hands to gcloud."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from prgcloud import __version__, cli
from prgcloud.emulator import Emulator
from prgcloud.environment import Environment

ROOT = Path(__file__).resolve().parent.parent
PRGCLOUD = str(ROOT / "bin" / "prgcloud")


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
        pytest.param(["shim-path", "--export"], ("shim_path", None, ["--export"]), id="own-verb"),
        pytest.param(["beta", "emulator", "start"], None, id="no-track-outside-ai"),
        pytest.param(["ai", "custom-jobs", "list"], None, id="not-ours"),
        pytest.param(["ai", "custom-jobs"], None, id="a-group-is-not-a-verb"),
        pytest.param(["config", "list"], None, id="another-group"),
        pytest.param(
            ["--project=p", "ai", "custom-jobs", "create", "--x"],
            ("create", None, ["--project=p", "--x"]),
            id="global-flag-first",
        ),
        pytest.param(
            ["--project", "p", "-q", "beta", "--verbosity=debug", "ai", "custom-jobs", "check"],
            ("check", "beta", ["--project", "p", "-q", "--verbosity=debug"]),
            id="global-flags-between-the-words",
        ),
        pytest.param(
            ["--no-user-output-enabled", "ai", "persistent-resources", "capacity", "r"],
            ("capacity", None, ["--no-user-output-enabled", "r"]),
            id="negated-global-flag",
        ),
        pytest.param(
            ["--project=a", "ai", "custom-jobs", "create", "--project=b"],
            ("create", None, ["--project=a", "--project=b"]),
            id="the-last-one-still-wins",
        ),
        pytest.param(["--version", "ai", "custom-jobs", "create"], None, id="gcloud-version"),
        pytest.param(["--region=r", "ai", "custom-jobs", "create"], None, id="not-gcloud-wide"),
        pytest.param(["--project=p", "emulator", "start"], None, id="own-verbs-come-first"),
    ],
)
def test_each_verb_finds_its_module(
    argv: list[str], found: tuple[str, str | None, list[str]] | None
) -> None:
    assert cli.find_verb(argv) == found


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


# --- pass-through: what prgcloud does not wrap is gcloud's ----------------------------------


def stand_in_gcloud(tmp_path: Path) -> dict[str, str]:
    """An environment whose gcloud is a script that says its pid, argv and stdin, exit 7."""
    script = tmp_path / "gcloud"
    script.write_text(
        '#!/bin/sh\necho "pid $$"\nfor a in "$@"; do echo "arg $a"; done\n'
        'echo "stdin $(cat)"\necho "to stderr" >&2\nexit 7\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {**os.environ, "PRGCLOUD_GCLOUD": str(script), "CLOUDSDK_CONFIG": str(tmp_path)}


def test_a_command_prgcloud_does_not_wrap_becomes_gcloud_itself(tmp_path: Path) -> None:
    with subprocess.Popen(
        [PRGCLOUD, "ai", "models", "list", "--format=value(name)"],
        env=stand_in_gcloud(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        out, err = child.communicate("the input", timeout=60)
    assert child.returncode == 7
    assert out.splitlines() == [
        f"pid {child.pid}",  # exec'd: gcloud is the very process that was started
        "arg ai",
        "arg models",
        "arg list",
        "arg --format=value(name)",
        "stdin the input",
    ]
    assert err == "to stderr\n"


def run_in_process(
    argv: list[str], environ: dict[str, str], tmp_path: Path
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    stdin = tmp_path / "stdin"
    stdin.write_text("the input")
    with stdin.open() as given:
        env = Environment(environ=environ, stdin=given, stdout=out, stderr=err)
        return cli.main(argv, env), out.getvalue(), err.getvalue()


def test_in_process_a_pass_through_runs_gcloud_as_a_child(tmp_path: Path) -> None:
    script = tmp_path / "gcloud"
    script.write_text('#!/bin/sh\necho "args $* stdin $(cat)"\necho "to stderr" >&2\nexit 7\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    environ = {**os.environ, "PRGCLOUD_GCLOUD": str(script)}
    status, out, err = run_in_process(["config", "list"], environ, tmp_path)
    assert (status, out, err) == (7, "args config list stdin the input\n", "to stderr\n")


def test_in_process_a_pass_through_copies_every_line(tmp_path: Path) -> None:
    status, out, _ = run_in_process(["config", "list"], stand_in_gcloud(tmp_path), tmp_path)
    assert status == 7
    assert out.splitlines()[1:] == ["arg config", "arg list", "stdin the input"]


def test_a_pass_through_without_gcloud_exits_127(tmp_path: Path) -> None:
    status, out, err = run(["ai", "models", "list"], tmp_path)
    assert (status, out) == (127, "")
    assert err.startswith("ERROR: (prgcloud) gcloud was not found on PATH.")


def both(argv: list[str], environ: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], ...]:
    """The same command run as `gcloud ...` and as `prgcloud ...`."""
    return tuple(
        subprocess.run(
            [program, *argv], env=environ, capture_output=True, text=True, timeout=120, check=False
        )
        for program in ("gcloud", PRGCLOUD)
    )


@pytest.mark.gcloud
@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["ai", "custom-jobs", "list", "--region=us-central1"], id="custom-jobs-list"),
        pytest.param(
            ["ai", "persistent-resources", "list", "--region=us-central1", "--format=json"],
            id="persistent-resources-list",
        ),
        pytest.param(["config", "list"], id="config-list"),
        pytest.param(["ai", "custom-jobs", "lst"], id="unknown-gcloud-command"),
        pytest.param(["ai", "custom-jobs", "describe"], id="missing-argument"),
        pytest.param(
            ["--project=p", "ai", "custom-jobs", "list", "--region=us-central1"],
            id="global-flag-first",
        ),
    ],
)
def test_prgcloud_passes_through_exactly_what_gcloud_does(
    clean_emulator: Emulator, gcloud_env: dict[str, str], argv: list[str]
) -> None:
    gcloud_env["CLOUDSDK_CORE_PROJECT"] = "p"
    clean_emulator.add_persistent_resource(
        "p",
        "us-central1",
        "cluster",
        {
            "resourcePools": [
                {"id": "cpu", "machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": "1"}
            ]
        },
    )
    gcloud, prgcloud = both(argv, gcloud_env)
    assert (prgcloud.returncode, prgcloud.stdout, prgcloud.stderr) == (
        gcloud.returncode,
        gcloud.stdout,
        gcloud.stderr,
    )


# gcloud's suggestion for each mistyped flag: `unrecognized arguments: --regoin=x (did you
# mean '--region'?)`, one per line when there are several.
_SUGGESTION = re.compile(r"^\s*(?:.*unrecognized arguments: )?(--\S+) \(did you mean '([^']+)'\?\)")


def suggestions(stderr: str) -> dict[str, str]:
    return dict(m.groups() for line in stderr.splitlines() if (m := _SUGGESTION.match(line)))


@pytest.mark.gcloud
@pytest.mark.parametrize(
    "typos",
    [
        pytest.param(["--regoin=us-central1"], id="region"),
        pytest.param(["--dispaly-name=train", "--prject=p"], id="two-at-once"),
        pytest.param(["--worker-pool-specs=machine-type=n1-standard-4"], id="plural"),
        pytest.param(["--persistant-resource-id=r"], id="persistent"),
        pytest.param(["--servce-account=a@b.iam.gserviceaccount.com"], id="service-account"),
        pytest.param(["--verbose"], id="verbosity"),
    ],
)
def test_a_mistyped_flag_gets_gcloud_s_own_suggestion(
    gcloud_env: dict[str, str], typos: list[str]
) -> None:
    argv = [
        "ai",
        "custom-jobs",
        "create",
        "--region=us-central1",
        "--project=p",
        "--display-name=d",
        "--worker-pool-spec=machine-type=n1-standard-4,container-image-uri=gcr.io/p/i",
        *typos,
    ]
    gcloud, prgcloud = both(argv, gcloud_env)
    assert gcloud.returncode == prgcloud.returncode == 2
    expected = suggestions(gcloud.stderr)
    assert len(expected) == len(typos)
    assert suggestions(prgcloud.stderr) == expected
    assert f"unrecognized arguments: {typos[0]} (did you mean '" in prgcloud.stderr

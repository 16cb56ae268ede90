"""No argument list, however odd, makes the parser crash: it returns a request or says why."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from prgcloud.errors import BadInputError
from prgcloud.flags import FLAGS
from prgcloud.parse import parse_create

PIECES = [
    "",
    "=",
    ",",
    ";",
    "^",
    "^:^",
    "^^",
    "-",
    "--",
    "machine-type=n1",
    "container-image-uri=i",
    "executor-image-uri=e",
    "python-module=m",
    "replica-count=",
    "replica-count=2",
    "accelerator-type=NVIDIA_TESLA_T4",
    "accelerator-count=x",
    "disk-type=pd-ssd",
    "disk-size=1e3",
    "local-package-path=.",
    "script=s.sh",
    "requirements=a;b",
    "us-central1",
    "projects/p/locations/us-central1",
    "k=v",
    "K=V",
    "é",
    "\n",
    " ",
    "$(x)",
    "job.yaml",
    "-",
    "flags.yaml",
]
FILES = {
    "job.yaml": (
        "workerPoolSpecs:\n  machineSpec: {machineType: n1}\n  containerSpec: {imageUri: i}\n"
    ),
    "flags.yaml": "--labels: {a: b}\n--args: [x, y]\n--display-name: d\n",
}


VALID = [
    "--project=p",
    "--region=us-central1",
    "--display-name=d",
    "--worker-pool-spec=machine-type=n1,container-image-uri=i",
]


def random_argv(rng: random.Random) -> list[str]:
    # Half start from a valid job, so the odd parts reach the deeper checks too.
    argv = list(VALID) if rng.random() < 0.5 else []
    for _ in range(rng.randint(0, 8)):
        flag = rng.choice([*FLAGS, "--no-enable-web-access", "-q", "pos"])
        value = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))
        if rng.random() < 0.5:
            argv.append(f"{flag}={value}")
        else:
            argv.extend([flag, value])
    return argv


@pytest.mark.parametrize("seed", range(4))
def test_random_argument_lists_never_crash_the_parser(tmp_path: Path, seed: int) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "s.sh").write_text("")
    rng = random.Random(seed)
    environ = {"CLOUDSDK_CONFIG": str(tmp_path / "gcloud")}
    refusals = []
    for _ in range(500):
        argv = random_argv(rng)
        try:
            parse_create(
                argv, environ, track=rng.choice([None, "beta"]), cwd=str(tmp_path),
                read_stdin=lambda _limit: "--display-name: x\n",
            )  # fmt: skip
        except BadInputError as error:
            refusals.append(error)
    assert all(error.problems for error in refusals)

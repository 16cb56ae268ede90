"""What policy hooks cost a command when there are none (the target: at most 1 ms).

    .venv/bin/python bench/policy.py [--rounds N]

In a fresh interpreter per round (as a command starts), with PRGCLOUD_POLICY_DIR unset and
$XDG_CONFIG_HOME holding no prgcloud/policy.d, it times what `create` and `check` add on the
way to sending: importing `prgcloud.commands.hooks` and one `hooks.consult` call that finds
no hook, including its import of `prgcloud.policy` (wall and CPU time). It prints the medians
and the modules imported (only those two: never sh, yaml, json or the SDK).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROUND = r"""
import gc, io, json, sys, time
import prgcloud.commands.create, prgcloud.commands.check  # the verbs' own imports, already paid
from prgcloud import build_request
from prgcloud.environment import Environment
request = build_request(display_name="t", project="p", region="us-central1",
                        worker_pool_specs=["machine-type=n1-standard-4,container-image-uri=gcr.io/p/i"],
                        environ={}, cwd="/")
env = Environment(stdout=io.StringIO(), stderr=io.StringIO())
gc.collect()  # a collection the earlier imports owe must not land in the window measured
before = set(sys.modules)
wall, cpu = time.perf_counter(), time.process_time()
from prgcloud.commands import hooks
hooks.consult(request, env, command="ai custom-jobs create", verdict=None, log=lambda: None)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, "modules": sorted(set(sys.modules) - before)}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # Measure what an installed package costs: its modules come compiled (a checkout run
    # under PYTHONDONTWRITEBYTECODE would compile policy.py on every start instead).
    compileall.compile_dir(os.path.join(root, "prgcloud"), quiet=1)
    with tempfile.TemporaryDirectory() as config:
        environ = {k: v for k, v in os.environ.items() if k != "PRGCLOUD_POLICY_DIR"}
        environ.update(XDG_CONFIG_HOME=config, PYTHONPATH=root)
        rounds = []
        for _ in range(args.rounds):
            out = subprocess.run(
                [sys.executable, "-c", ROUND],
                env=environ,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rounds.append(json.loads(out))
    for key in ("wall", "cpu"):
        median = statistics.median(r[key] for r in rounds) * 1000
        worst = max(r[key] for r in rounds) * 1000
        print(
            f"{key:4} median {median:.3f} ms, max {worst:.3f} ms, {len(rounds)} fresh interpreters"
        )
    print("modules imported:", ", ".join(rounds[0]["modules"]) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())

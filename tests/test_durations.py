"""`--wait-for-capacity=DURATION` reads durations exactly as gcloud's `Duration()` flags do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prgcloud.durations import DurationError, parse_duration

ACCEPTED = [
    pytest.param("45", 45, id="plain-integer-is-seconds"),
    pytest.param("0", 0, id="zero"),
    pytest.param("90s", 90, id="seconds"),
    pytest.param("10m", 600, id="minutes"),
    pytest.param("2h", 7200, id="hours"),
    pytest.param("1h30m", 5400, id="hours-and-minutes"),
    pytest.param("1H30M15S", 5415, id="upper-case"),
    pytest.param("PT10M", 600, id="iso-minutes"),
    pytest.param("pt1h", 3600, id="iso-lower-case"),
    pytest.param("P1D", 86400, id="iso-day"),
    pytest.param("P1DT2H", 93600, id="iso-day-and-hours"),
    pytest.param("1w", 604800, id="week"),
    pytest.param("1.5m", 90, id="fraction"),
    pytest.param("1,5m", 90, id="decimal-comma"),
    pytest.param("500ms", 0.5, id="milliseconds"),
    pytest.param("2s500ms", 2.5, id="seconds-and-milliseconds"),
    pytest.param("+30s", 30, id="plus-sign"),
    pytest.param("P0", 0, id="iso-zero"),
]
REFUSED = [
    pytest.param("1.5", id="fraction-without-unit"),
    pytest.param("10x", id="unknown-unit"),
    pytest.param("m", id="unit-without-number"),
    pytest.param("10m5", id="trailing-number"),
    pytest.param("PT1HT2M", id="two-t-separators"),
    pytest.param("-5", id="negative-seconds"),
    pytest.param("-1h", id="negative-duration"),
    pytest.param("1.2.3s", id="two-decimal-points"),
    pytest.param("5us1s", id="microseconds-not-last"),
]


@pytest.mark.parametrize(("text", "seconds"), ACCEPTED)
def test_a_duration_gcloud_accepts_is_read_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_p_before_t_makes_m_months_as_in_gcloud() -> None:
    assert parse_duration("P1M") == pytest.approx(365.2422 * 86400 / 12)
    assert parse_duration("P1MT1M") == pytest.approx(365.2422 * 86400 / 12 + 60)


@pytest.mark.parametrize("text", REFUSED)
def test_a_duration_gcloud_refuses_is_refused(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


GCLOUD_DURATION = """
import json, sys
from googlecloudsdk.calliope import arg_parsers
parse = arg_parsers.Duration()
answers = {}
for text in json.loads(sys.argv[1]):
    try:
        answers[text] = parse(text)
    except arg_parsers.ArgumentTypeError:
        answers[text] = None
print(json.dumps(answers))
"""


def test_every_case_reads_as_gclouds_own_duration_parser_reads_it() -> None:
    """The table above, put to gcloud's own `arg_parsers.Duration()` from its installation."""
    gcloud = shutil.which("gcloud")
    assert gcloud, "gcloud is not on PATH"
    lib = Path(os.path.realpath(gcloud)).parents[1] / "lib"
    cases = [p.values[0] for p in ACCEPTED + REFUSED] + ["P1M", "P1MT1M"]
    done = subprocess.run(
        [sys.executable, "-c", GCLOUD_DURATION, json.dumps(cases)],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": f"{lib}{os.pathsep}{lib / 'third_party'}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for text, gclouds in json.loads(done.stdout).items():
        if gclouds is None:
            with pytest.raises(DurationError):
                parse_duration(text)
        else:  # gcloud rounds calendar units (months, years) to whole seconds
            assert parse_duration(text) == pytest.approx(gclouds, abs=1), text

"""`--format` and `--flatten` print what gcloud's own resource printers print for the same data.

The reference is gcloud itself: `tests/gcloud_printer.py` runs the SDK's printers under the
SDK's own Python, once for every case of the table below.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from prgcloud import output, process
from prgcloud.errors import BadInputError

CAPACITY: dict[str, Any] = {
    "name": "projects/p/locations/us-central1/persistentResources/demo-cluster",
    "state": "RUNNING",
    "error": None,
    "network": None,
    "kmsKeyName": None,
    "pools": [
        {
            "id": "cpu",
            "machineType": "n1-standard-4",
            "acceleratorType": None,
            "acceleratorCount": 0,
            "bootDiskType": "pd-ssd",
            "bootDiskSizeGb": 100,
            "ceiling": 1,
            "used": 0,
            "free": 1,
        },
        {
            "id": "gpu",
            "machineType": "a2-highgpu-1g",
            "acceleratorType": "NVIDIA_TESLA_A100",
            "acceleratorCount": 1,
            "bootDiskType": "pd-ssd",
            "bootDiskSizeGb": 200,
            "ceiling": 4,
            "used": 2,
            "free": 2,
        },
    ],
}
CHECK: dict[str, Any] = {
    "valid": True,
    "checked": True,
    "fits": False,
    "resource": CAPACITY["name"],
    "assignment": {"0": "gpu"},
    "pools": [{"index": 0, "resourcePool": "gpu", "differs": [], "asked": 2, "free": 2}],
    "findings": [
        {
            "severity": "block",
            "code": "disk-mismatch",
            "pool": 0,
            "field": "diskSpec.bootDiskType",
            "asked": "pd-standard",
            "offered": ["pd-ssd"],
            "message": "worker pool 0 asks for a pd-standard boot disk, but the pool's is "
            'pd-ssd; a message long enough to be folded, with "quotes", a comma, and more.',
            "fix": None,
        },
        {
            "severity": "warn",
            "code": "ray",
            "pool": None,
            "field": "",
            "asked": None,
            "offered": [],
            "message": "two\nlines",
            "fix": "  padded  ",
        },
    ],
}
ODD: dict[str, Any] = {
    "n": 0.5,
    "big": 12345678901.0,
    "t": "tab\there",
    "empty": "",
    "nested": {"deep": {"list": [1, None, "x"], "d": {}}},
    "timestamp": "2026-11-30T01:45:06Z",
    "number_string": "1",
    "yes": "yes",
}
SPARSE: dict[str, Any] = {"state": "R", "error": None, "l": [{"a": None, "b": 1}, None]}

CASES = [
    pytest.param("json", CAPACITY, [], id="json"),
    pytest.param("yaml", CAPACITY, [], id="yaml"),
    pytest.param("yaml", CHECK, [], id="yaml-long-and-multiline-strings"),
    pytest.param("json", CHECK, [], id="json-check"),
    pytest.param("yaml", ODD, [], id="yaml-odd-values"),
    pytest.param("json", ODD, [], id="json-odd-values"),
    pytest.param("text", CAPACITY, [], id="text"),
    pytest.param("flattened[no-pad]", CHECK, [], id="flattened-no-pad"),
    pytest.param("text", ODD, [], id="text-odd-values"),
    pytest.param("value(state)", CAPACITY, [], id="value-one-key"),
    pytest.param("value(name,state,error)", CAPACITY, [], id="value-tab-separated"),
    pytest.param("value(pools.id, pools[1].free)", CAPACITY, [], id="value-list-joined"),
    pytest.param("value(pools[].machineType)", CAPACITY, [], id="value-slice"),
    pytest.param("value(pools[-1].id)", CAPACITY, [], id="value-negative-index"),
    pytest.param("value(pools[5].id, nothing.here)", CAPACITY, [], id="value-absent"),
    pytest.param("value(fits,assignment,findings.offered)", CHECK, [], id="value-bool-dict"),
    pytest.param("value(findings)", CHECK, [], id="value-list-of-dicts"),
    pytest.param('value[separator=","](state,name)', CAPACITY, [], id="value-separator"),
    pytest.param("value[quote](findings.message)", CHECK, [], id="value-quote"),
    pytest.param('value[terminator="|"](state)', CAPACITY, [], id="value-terminator"),
    pytest.param("value(t,empty,n,big)", ODD, [], id="value-odd"),
    pytest.param("csv(name,state,pools.id)", CAPACITY, [], id="csv"),
    pytest.param("csv[no-heading](state,error)", CAPACITY, [], id="csv-no-heading"),
    pytest.param("csv(findings.message, findings.fix)", CHECK, [], id="csv-quoting"),
    pytest.param('csv[separator=";",delimiter="+"](pools.id,state)', CAPACITY, [], id="csv-seps"),
    pytest.param("csv[no-quote](findings.message)", CHECK, [], id="csv-no-quote"),
    pytest.param("table(state,name)", CAPACITY, [], id="table"),
    pytest.param("table(state:label=STATUS, pools.id:label='Pool ids')", CAPACITY, [], id="label"),
    pytest.param("table[no-heading](state,pools)", CAPACITY, [], id="table-no-heading"),
    pytest.param("table(pools[0].machineType, pools[1].machineType)", CAPACITY, [], id="snake"),
    pytest.param("table(fits, assignment, findings.code)", CHECK, [], id="table-values"),
    pytest.param("table(nested.deep.d, nested.deep.list, empty)", ODD, [], id="table-odd"),
    pytest.param("json(state,pools[0].id)", CAPACITY, [], id="json-projection"),
    pytest.param("json(pools[1])", CAPACITY, [], id="json-projected-index"),
    pytest.param("yaml(state,pools[].id,error)", CAPACITY, [], id="yaml-projection-slice"),
    pytest.param("yaml(state,pools.id)", CAPACITY, [], id="yaml-name-on-a-list"),
    pytest.param("json(nothing)", CAPACITY, [], id="json-projection-absent"),
    pytest.param("text(state,pools[].free)", CAPACITY, [], id="text-projection"),
    pytest.param("table(pools.id,pools.free,state)", CAPACITY, ["pools"], id="flatten-table"),
    pytest.param("json", CAPACITY, ["pools"], id="flatten-json"),
    pytest.param("yaml", CAPACITY, ["pools"], id="flatten-yaml"),
    pytest.param("text", CAPACITY, ["pools"], id="flatten-text"),
    pytest.param("value(findings.code)", CHECK, ["findings"], id="flatten-value"),
    pytest.param("csv(findings.offered)", CHECK, ["findings[].offered"], id="flatten-nested"),
    pytest.param("json", {"pools": []}, ["pools"], id="flatten-nothing-json"),
    pytest.param("table(pools)", {"pools": []}, ["pools"], id="flatten-nothing-table"),
    pytest.param("none", CAPACITY, [], id="none"),
    pytest.param("json(state,nothing)", SPARSE, [], id="json-some-keys-absent"),
    pytest.param("yaml(error)", SPARSE, [], id="yaml-a-null-asked-for"),
    pytest.param("text(state,error)", SPARSE, [], id="text-a-null-asked-for"),
    pytest.param("text(l[].a)", SPARSE, [], id="text-a-null-in-a-slice"),
    pytest.param("json(l[].a)", SPARSE, [], id="json-slice-with-null"),
    pytest.param("json(l[].c)", SPARSE, [], id="json-slice-of-nothing"),
    pytest.param("json(l.b)", SPARSE, [], id="json-name-on-a-list"),
    pytest.param("json(l[0].b,l[0].a)", SPARSE, [], id="json-two-keys-one-item"),
    pytest.param("json(l[3].b)", SPARSE, [], id="json-index-out-of-range"),
    pytest.param("text", SPARSE, [], id="text-drops-nulls"),
    pytest.param("json", SPARSE, ["l"], id="flatten-drops-nulls"),
    pytest.param("json", SPARSE, ["state"], id="flatten-not-a-list"),
    pytest.param("json", SPARSE, ["nothing"], id="flatten-absent"),
    pytest.param("value(state)", SPARSE, ["nothing"], id="flatten-absent-value"),
    pytest.param("json(state,l[0])", SPARSE, [], id="json-whole-item"),
    pytest.param("yaml(l[-1].b)", SPARSE, [], id="yaml-negative-index"),
    pytest.param("value(l.b, l.a, l[].b)", SPARSE, [], id="value-name-on-list-of-dicts"),
    pytest.param("value(pools.machine_type)", CAPACITY, [], id="value-snake-case-key"),
    pytest.param("value(l.x)", {"l": [{"a": 1}, {"x": 2}, {"x": 0}]}, [], id="value-late-key"),
    pytest.param("json(l[].a)", {"l": [{"a": 1}, {"b": 2}, {"a": 3}]}, [], id="json-slice-gaps"),
    pytest.param("yaml", SPARSE, ["nothing"], id="flatten-absent-yaml"),
    pytest.param("table(id, pools.id, pools[0].id)", CAPACITY, [], id="table-label-clash"),
]


def sdk_python() -> tuple[str, str] | None:
    """gcloud's own Python and the SDK's `lib` directory, if this machine has them."""
    try:
        root = os.path.dirname(os.path.dirname(os.path.realpath(process.find_gcloud(os.environ))))
    except process.GcloudNotFoundError:
        return None
    python = os.path.join(root, "platform", "bundledpythonunix", "bin", "python3")
    lib = os.path.join(root, "lib")
    return (python, lib) if os.access(python, os.X_OK) and os.path.isdir(lib) else None


@functools.lru_cache(maxsize=1)
def gcloud_outputs() -> dict[tuple[str, str, tuple[str, ...]], str]:
    """What gcloud prints for every case, from one run of its own Python."""
    found = sdk_python()
    if found is None:
        pytest.skip("no Cloud SDK with a bundled Python to compare against")
    python, lib = found
    cases = [{"format": p.values[0], "data": p.values[1], "flatten": p.values[2]} for p in CASES]
    with tempfile.TemporaryDirectory() as config:
        result = subprocess.run(
            [python, str(Path(__file__).with_name("gcloud_printer.py")), lib],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            env={"CLOUDSDK_CONFIG": config, "PATH": os.defpath, "LANG": "C.UTF-8"},
            timeout=120,
            check=True,
        )
    answers = json.loads(result.stdout)
    return {
        (c["format"], json.dumps(c["data"]), tuple(c["flatten"])): a
        for c, a in zip(cases, answers, strict=True)
    }


def prgcloud_prints(fmt: str, data: Any, flatten: list[str]) -> str:
    return output.render(data, output.parse_format(fmt), flatten_keys=output.parse_flatten(flatten))


@pytest.mark.gcloud
@pytest.mark.parametrize(("fmt", "data", "flatten"), CASES)
def test_prgcloud_prints_what_gcloud_prints(fmt: str, data: Any, flatten: list[str]) -> None:
    expected = gcloud_outputs()[(fmt, json.dumps(data), tuple(flatten))]
    assert prgcloud_prints(fmt, data, flatten) == expected


@pytest.mark.parametrize(
    ("fmt", "needle"),
    [
        pytest.param("nonsense", "Format must be one of csv, flattened, json", id="unknown"),
        pytest.param("value", "Format [value] requires a non-empty projection", id="no-keys"),
        pytest.param("table()", "Format [table] requires a non-empty projection", id="empty"),
        pytest.param("value(a", "Expected ) in projection expression", id="unclosed"),
        pytest.param("value(a.len())", "does not support transforms such as len()", id="xform"),
        pytest.param("table(a:sort=1)", "does not support the key attribute :sort", id="sort"),
        pytest.param("table(a:bogus=1)", "Unknown key attribute [bogus]", id="bad-attribute"),
        pytest.param("table(a:label)", "value expected", id="label-without-value"),
        pytest.param("value(a[x])", "Expected a list index or [] in the key", id="bad-index"),
        pytest.param("value(1a)", "Key name expected", id="bad-name"),
    ],
)
def test_a_format_prgcloud_cannot_print_is_bad_input(fmt: str, needle: str) -> None:
    with pytest.raises(BadInputError) as caught:
        output.parse_format(fmt)
    assert needle in str(caught.value)
    assert str(caught.value).startswith("argument --format: ")


@pytest.mark.gcloud
def test_gcloud_refuses_what_prgcloud_refuses_as_unknown_or_keyless() -> None:
    # The wording prgcloud borrows is gcloud's own.
    assert prgcloud_refusal("value") in gcloud_refusal("value")
    assert "Format must be one of" in gcloud_refusal("nonsense")


def prgcloud_refusal(fmt: str) -> str:
    with pytest.raises(BadInputError) as caught:
        output.parse_format(fmt)
    return str(caught.value).removeprefix("argument --format: ")


def gcloud_refusal(fmt: str) -> str:
    found = sdk_python()
    if found is None:
        pytest.skip("no Cloud SDK with a bundled Python to compare against")
    python, lib = found
    with tempfile.TemporaryDirectory() as config:
        result = subprocess.run(
            [python, str(Path(__file__).with_name("gcloud_printer.py")), lib],
            input=json.dumps([{"format": fmt, "data": {"a": 1}, "flatten": []}]),
            capture_output=True,
            text=True,
            env={"CLOUDSDK_CONFIG": config, "PATH": os.defpath, "LANG": "C.UTF-8"},
            timeout=120,
            check=True,
        )
    answer: str = json.loads(result.stdout)[0]
    assert answer.startswith("ERROR: ")
    return answer


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        pytest.param("debug", ["DEBUG", "WARNING", "status"], id="debug"),
        pytest.param("info", ["WARNING", "status"], id="info"),
        pytest.param("warning", ["WARNING", "status"], id="warning"),
        pytest.param("error", ["status"], id="error"),
        pytest.param("none", ["status"], id="none"),
    ],
)
def test_the_log_shows_what_the_verbosity_asks_for(level: str, shown: list[str]) -> None:
    stream = io.StringIO()
    log = output.Log(stream, level)
    log.debug("a step")
    log.warning("a doubt")
    log.status("status")
    assert [line.split(":")[0] for line in stream.getvalue().splitlines()] == shown


def test_no_user_output_silences_status_lines() -> None:
    stream = io.StringIO()
    output.Log(stream, user_output=False).status("checked")
    assert stream.getvalue() == ""


def test_an_unknown_verbosity_is_refused_in_gcloud_s_words() -> None:
    with pytest.raises(BadInputError) as caught:
        output.verbosity("loud")
    assert str(caught.value) == (
        "argument --verbosity: Invalid choice: 'loud'.\n\n"
        "Valid choices are [critical, debug, error, info, none, warning]."
    )

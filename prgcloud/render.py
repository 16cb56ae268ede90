"""The dry-run snippets: one submission written as shell, as curl, or as Vertex AI SDK code.

Pure functions of a `JobRequest`; nothing here runs anything. Each snippet is meant to be
run as it is (`sh snippet`, pasted into a terminal, or `python snippet.py`) and to send the
same job gcloud would send, so every value is quoted for its language rather than trusted:
shell words with `shlex.quote`, file contents in a quoted here-document whose delimiter is
chosen not to occur in them, Python values with `repr`. Values shown in comments are
escaped so that a newline in a display name cannot end the comment.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from prgcloud.gcloud_config import GOOGLE_ENDPOINT, regional_endpoint
from prgcloud.request import JobRequest

_HEREDOC_DELIMITER = "PRGCLOUD_EOF"
_CONFIG_VARIABLE = "prgcloud_config"
# The CustomJobSpec fields `aiplatform.CustomJob(...)` and `.submit(...)` take as arguments;
# every other field is set on the spec from the JSON gcloud would send.
_SUBMIT_ARGUMENTS = {
    "persistentResourceId": "persistent_resource_id",
    "network": "network",
    "serviceAccount": "service_account",
    "tensorboard": "tensorboard",
}
_EXPERIMENT = {"experiment": "experiment", "experimentRun": "experiment_run"}
# int64 fields arrive as JSON strings; in Python they read better as numbers.
_INT_FIELDS = {"replica_count", "accelerator_count", "boot_disk_size_gb"}
_INT_TEXT = re.compile(r"^-?[0-9]+$")
# Where the SDK's staging bucket points when the job has no output directory. The SDK will
# not build a CustomJob without one; the snippet clears the directory it derives from it.
UNUSED_STAGING_BUCKET = "gs://prgcloud-unused-staging-bucket"


def shell_snippet(request: JobRequest, precheck_note: str | None = None) -> str:
    """A POSIX shell snippet that submits `request` with the `gcloud` found on PATH.

    gcloud's output and exit status pass through. When the request needs a generated
    `--config` file, the snippet writes it to a fresh private temporary file (mktemp, mode
    0600), passes `--config=FILE`, and removes it however the subshell ends.
    """
    lines = _header(request, precheck_note, "with the real gcloud")
    if request.config_yaml is None:
        lines += _command_lines(["gcloud", *request.gcloud_args], indent="")
        return "\n".join(lines) + "\n"
    config_arg = f'"--config=${_CONFIG_VARIABLE}"'
    before, after = request.gcloud_args_around_config()
    words = [*map(shlex.quote, ("gcloud", *before)), config_arg, *map(shlex.quote, after)]
    delimiter = heredoc_delimiter(request.config_yaml)
    lines += [
        "(",
        # The trap is set before the file exists, so no signal can leave it behind; a signal
        # becomes an exit (status 128+n) so that the EXIT trap runs in every shell.
        f"  {_CONFIG_VARIABLE}=",
        f"  trap 'rm -f -- \"${_CONFIG_VARIABLE}\"' EXIT",
        "  trap 'exit 129' HUP",
        "  trap 'exit 130' INT",
        "  trap 'exit 143' TERM",
        f'  {_CONFIG_VARIABLE}=$(mktemp "${{TMPDIR:-/tmp}}/prgcloud-job.XXXXXX") || exit',
        f"  cat >\"${_CONFIG_VARIABLE}\" <<'{delimiter}' || exit",
        *_heredoc_body(request.config_yaml),
        delimiter,
        *_join_words(words, indent="  "),
        ")",
    ]
    return "\n".join(lines) + "\n"


def curl_snippet(request: JobRequest, precheck_note: str | None = None) -> str:
    """A shell snippet that POSTs the job with curl, as gcloud would, with gcloud's token.

    The JSON body goes through a quoted here-document; `--fail-with-body` makes an HTTP
    error a non-zero exit status while still showing the service's error message.
    """
    token_words = ["gcloud", "auth", "print-access-token", *request.identity.gcloud_flags()]
    token = " ".join(shlex.quote(w) for w in token_words)
    body = json.dumps(request.body, indent=2, ensure_ascii=False)
    delimiter = heredoc_delimiter(body)
    lines = _header(request, precheck_note, "through the Vertex AI REST API with curl")
    lines += [
        "curl -sS --fail-with-body -X POST \\",
        f'  -H "Authorization: Bearer $({token})" \\',
        "  -H 'Content-Type: application/json' \\",
        f"  {shlex.quote(request.url + '?alt=json')} \\",
        f"  --data-binary @- <<'{delimiter}'",
        *_heredoc_body(body),
        delimiter,
    ]
    return "\n".join(lines) + "\n"


def python_snippet(request: JobRequest, precheck_note: str | None = None) -> str:
    """Vertex AI SDK code that creates the same CustomJob (`python snippet.py`).

    It uses Application Default Credentials, as the SDK does. When gcloud would talk to an
    endpoint other than Google's regional one (`api_endpoint_overrides/aiplatform`, e.g. a
    local emulator), the snippet goes there too, over REST as gcloud does. The SDK's
    `CustomJob` speaks the v1 API, also for the beta and alpha tracks. Fields the SDK takes
    no argument for (`enableDashboardAccess`, `scheduling`, ...) are set on the job spec from
    the same JSON gcloud sends.
    """
    body = dict(request.service_body)  # the SDK builds protos: every field by its JSON name
    spec = dict(body.get("jobSpec") or {})
    pools = spec.pop("workerPoolSpecs", [])
    output_dir = _output_dir(spec)
    # An empty value (`--network=`) is what the SDK sends when the argument is left out.
    submit = {
        _SUBMIT_ARGUMENTS[k]: value
        for k in list(spec)
        if k in _SUBMIT_ARGUMENTS and (value := spec.pop(k))
    }
    if spec.pop("enableWebAccess", False):
        submit["enable_web_access"] = True
    experiment = {
        name: spec.pop(key) for key, name in _EXPERIMENT.items() if spec.get(key) is not None
    }
    rest = spec  # what is left has no SDK argument

    lines = _header(request, precheck_note, "with the Vertex AI SDK")
    lines.append("from google.cloud import aiplatform")
    if rest:
        lines.append("from google.protobuf import json_format")
    lines.append("")
    init = {"project": request.project, "location": request.region}
    if request.endpoint != default_endpoint(request.region):
        init["api_endpoint"] = request.endpoint.rstrip("/")
        init["api_transport"] = "rest"
    lines += _call("aiplatform.init", init)
    lines.append("")

    job_args: dict[str, Any] = {
        "display_name": body.get("displayName"),
        "worker_pool_specs": [_snake(pool) for pool in pools],
    }
    if body.get("labels"):
        job_args["labels"] = dict(body["labels"])
    kms_key = (body.get("encryptionSpec") or {}).get("kmsKeyName")
    if kms_key:
        job_args["encryption_spec_key_name"] = kms_key
    if output_dir is not None:
        job_args["base_output_dir"] = output_dir
        job_args["staging_bucket"] = output_dir
    else:
        job_args["staging_bucket"] = UNUSED_STAGING_BUCKET
    lines += _call("job = aiplatform.CustomJob", job_args)
    if output_dir is None:
        lines += [
            "# The SDK needs a staging bucket only to make up an output directory; this job",
            "# has none (gcloud sends none), so the made-up one is removed again.",
            "del job.job_spec.base_output_directory",
        ]
    if rest:
        lines.append("# Fields the SDK takes no argument for, as gcloud sends them:")
        lines += _call(
            "json_format.ParseDict",
            [rest, _Code("type(job.job_spec).pb(job.job_spec)")],
        )
    if experiment:
        lines.append("# The SDK fills in the experiment fields itself, from these names:")
        submit.update(experiment)
    lines += _call("job.submit", submit)
    lines.append('print(f"CustomJob [{job.resource_name}] is submitted successfully.")')
    return "\n".join(lines) + "\n"


def default_endpoint(region: str) -> str:
    """Google's regional Vertex AI endpoint, the one gcloud uses unless told otherwise."""
    return regional_endpoint(GOOGLE_ENDPOINT, region)


def heredoc_delimiter(content: str) -> str:
    """A here-document delimiter that occurs nowhere in `content`, not even inside a line."""
    delimiter, n = _HEREDOC_DELIMITER, 0
    while delimiter in content:
        n += 1
        delimiter = f"{_HEREDOC_DELIMITER}_{n}"
    return delimiter


def _heredoc_body(content: str) -> list[str]:
    # A here-document always ends its last line; a missing final newline is added, which
    # neither YAML nor JSON notices.
    return content.removesuffix("\n").split("\n") if content else []


def _header(request: JobRequest, precheck_note: str | None, how: str) -> list[str]:
    """Comment lines (`#` starts one in both shell and Python) saying what the snippet does."""
    resource = request.persistent_resource_id
    lines = [
        f"Submits the custom job {_shown(request.body.get('displayName') or '')} {how}.",
        f"Project {_shown(request.project)}, region {_shown(request.region)}, "
        + (
            f"persistent resource {_shown(resource)}."
            if resource
            else "no persistent resource (on-demand machines)."
        ),
    ]
    if precheck_note is None:
        lines.append("Not pre-checked by prgcloud.")
    else:
        lines += [f"Pre-check: {line}" for line in precheck_note.splitlines() or [""]]
    return [f"# {_comment_safe(line)}".rstrip() for line in lines]


def _shown(value: str) -> str:
    """A value as a comment shows it: quoted, with control characters escaped."""
    return json.dumps(value, ensure_ascii=False)


def _comment_safe(line: str) -> str:
    # splitlines() splits on more than "\n"; anything that could still end a line in some
    # reader is escaped rather than trusted.
    return "".join(
        json.dumps(c, ensure_ascii=False)[1:-1] if (c < " " or c in "\x7f\u2028\u2029") else c
        for c in line
    )


def _command_lines(argv: Sequence[str], *, indent: str) -> list[str]:
    return _join_words([shlex.quote(a) for a in argv], indent=indent)


def _join_words(words: Sequence[str], *, indent: str) -> list[str]:
    """Quoted words as one command: the leading command words on the first line, then one
    flag per continuation line, a flag's separate value (`--region R`) with its flag."""
    groups: list[list[str]] = [[]]
    for word in words:
        is_flag = word.startswith(("-", "'-", '"-'))
        if not is_flag and len(groups) == 1:
            groups[0].append(word)
        elif not is_flag and len(groups[-1]) == 1 and "=" not in groups[-1][0]:
            groups[-1].append(word)
        else:
            groups.append([word])
    texts = [" ".join(group) for group in groups if group]
    continued = [f"{text} \\" for text in texts[:-1]] + texts[-1:]
    return [f"{indent}{'  ' if i else ''}{text}" for i, text in enumerate(continued)]


def _output_dir(spec: dict[str, Any]) -> str | None:
    """Take `baseOutputDirectory` out of `spec` when the SDK's `base_output_dir` says it all."""
    directory = spec.get("baseOutputDirectory")
    if isinstance(directory, Mapping) and set(directory) == {"outputUriPrefix"}:
        del spec["baseOutputDirectory"]
        return str(directory["outputUriPrefix"])
    return None


def _snake(value: Any, key: str | None = None) -> Any:
    """A REST (camelCase) value as the SDK's proto-plus dicts want it (snake_case keys)."""
    if isinstance(value, Mapping):
        return {_snake_name(k): _snake(v, _snake_name(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    if key in _INT_FIELDS and isinstance(value, str) and _INT_TEXT.match(value):
        return int(value)
    return value


def _snake_name(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class _Code(str):
    """Python source to put into a snippet as it is (not a string value)."""


def _call(function: str, arguments: Mapping[str, Any] | Iterable[Any]) -> list[str]:
    items = (
        [f"{k}={_py(v, 1)}" for k, v in arguments.items()]
        if isinstance(arguments, Mapping)
        else [_py(v, 1) for v in arguments]
    )
    if not items:
        return [f"{function}()"]
    return [f"{function}(", *(f"    {item}," for item in items), ")"]


def _py(value: Any, depth: int) -> str:
    """`value` as Python source, one item per line for containers."""
    pad, inner = "    " * depth, "    " * (depth + 1)
    if isinstance(value, _Code):
        return str(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{inner}{_py(str(k), 0)}: {_py(v, depth + 1)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [f"{inner}{_py(v, depth + 1)}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    if isinstance(value, (str, bool, int, float)) or value is None:
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as Python source")

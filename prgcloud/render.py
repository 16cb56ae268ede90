"""The dry-run snippets: one submission written as shell, as curl, or as Vertex AI SDK code.

Pure functions of a `JobRequest`; nothing here runs anything. Each snippet is meant to be
run as it is (`sh snippet`, pasted into a terminal, or `python snippet.py`) and to send the
same job gcloud would send, to the same place:

- Values are quoted for their language, never trusted: shell words with `shlex.quote`,
  files in a quoted here-document whose delimiter occurs nowhere in them, Python values
  with `repr`. Values shown in comments are escaped.
- A snippet holds no raw control or format character (C0, DEL, C1, U+2028, bidi
  overrides, ...): pasted into a terminal without bracketed paste, a Ctrl-U inside a quoted
  value would erase the opening quote and let the rest of the value run as a command. The
  shell writes such characters as `"$(printf '\\NNN')"` (bytes in octal, which bash and
  dash both read), a newline inside a value as `"$prgcloud_nl"`; JSON and Python escape
  them their own way. The value that arrives is the same.
- Where the job goes is pinned: the project and region gcloud resolved (from flags,
  environment or configuration) become flags, and an endpoint override becomes the
  variable gcloud reads, so the snippet does not go elsewhere under another configuration.
- An access token never appears in a command line (`ps` shows those to every user).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

from prgcloud.gcloud_config import GOOGLE_ENDPOINT, regional_endpoint
from prgcloud.request import Identity, JobRequest, TuningRequest

if TYPE_CHECKING:
    from prgcloud.resource import ResourceRequest

STYLES = ("shell", "rest", "python")
_HEREDOC_DELIMITER = "PRGCLOUD_EOF"
_CONFIG_VARIABLE = "prgcloud_config"
_TOKEN_VARIABLE = "prgcloud_token"
_NEWLINE_VARIABLE = "prgcloud_nl"
# `$(...)` drops trailing newlines, so a newline is made with a dot after it, then cut.
_NEWLINE_DEFINITION = (
    f"{_NEWLINE_VARIABLE}=$(printf '\\n.'); {_NEWLINE_VARIABLE}=${{{_NEWLINE_VARIABLE}%.}}"
)
_ENDPOINT_VARIABLE = "CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM"
_CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

# The CustomJobSpec fields whose JSON the SDK's types parse into numbers or durations (the
# rest are text, booleans, enums and messages): a value gcloud sends there that does not fit
# (a replica count beyond int64, a timeout that is no duration) cannot become an SDK
# `CustomJob`. tests/test_render.py checks these tables against the SDK's own messages.
INTEGER_BITS = {
    "replicaCount": 64,
    "acceleratorCount": 32,
    "bootDiskSizeGb": 32,
    "multihostGpuNodeCount": 32,
}
DURATION_FIELDS = frozenset({"timeout", "maxWaitDuration"})
_INTEGER_TEXT = re.compile(r"^-?[0-9]{1,20}$")
_DURATION_TEXT = re.compile(r"^-?([0-9]{1,12})(\.[0-9]{1,9})?s$")
_MAX_DURATION_SECONDS = 315_576_000_000  # google.protobuf.Duration's range


def dry_run_text(
    request: JobRequest, precheck_note: str | None = None, *, style: str | None = None
) -> str:
    """The `--dry-run[=shell|rest|python]` snippet for this request.

    `style` defaults to the request's own `--dry-run` choice, else "shell".
    """
    style = style or request.options.dry_run or "shell"
    if style == "shell":
        return shell_snippet(request, precheck_note)
    if style == "rest":
        return curl_snippet(request, precheck_note)
    if style == "python":
        return python_snippet(request, precheck_note)
    raise ValueError(f"dry-run style must be one of {', '.join(STYLES)}, not {style!r}")


# --- shell ---------------------------------------------------------------------------------


def shell_snippet(request: JobRequest, precheck_note: str | None = None) -> str:
    """A POSIX shell snippet that submits `request` with the `gcloud` found on PATH.

    gcloud's output and exit status pass through. When the request needs a generated
    `--config` file, the snippet writes it to a fresh private temporary file (mktemp, mode
    0600), passes `--config=FILE`, and removes it however the subshell ends.
    """
    return _gcloud_text(request, _header(request, precheck_note, "with the real gcloud"))


def _gcloud_text(request: JobRequest, lines: list[str]) -> str:
    """The shell snippet's text: comment `lines`, then the gcloud command (and its config)."""
    lines = list(lines)
    before, after = request.gcloud_args_around_config()
    after = (*after, *pinned_flags(request))
    words = [shell_word(arg) for arg in ("gcloud", *before)]
    if request.config_yaml is not None:
        words.append(f'"--config=${_CONFIG_VARIABLE}"')
    words += [shell_word(arg) for arg in after]
    argv = (*before, *after)
    if request.endpoint != default_endpoint(request.region):
        words.insert(0, f"{_ENDPOINT_VARIABLE}={shell_word(request.endpoint)}")
    needs_newline = any("\n" in arg for arg in (*argv, request.endpoint))
    if request.config_yaml is None:
        lines += [_NEWLINE_DEFINITION] if needs_newline else []
        lines += _join_words(words, indent="")
        return "\n".join(lines) + "\n"
    lines += [
        "(",
        *([f"  {_NEWLINE_DEFINITION}"] if needs_newline else []),
        # The trap is set before the file exists, so no signal can leave it behind; a signal
        # becomes an exit (status 128+n) so that the EXIT trap runs in every shell.
        f"  {_CONFIG_VARIABLE}=",
        f"  trap 'rm -f -- \"${_CONFIG_VARIABLE}\"' EXIT",
        "  trap 'exit 129' HUP",
        "  trap 'exit 130' INT",
        "  trap 'exit 143' TERM",
        f'  {_CONFIG_VARIABLE}=$(mktemp "${{TMPDIR:-/tmp}}/prgcloud-job.XXXXXX") || exit',
        *_write_file(request.config_yaml, f'"${_CONFIG_VARIABLE}"', indent="  "),
        *_join_words(words, indent="  "),
        ")",
    ]
    return "\n".join(lines) + "\n"


def pinned_flags(request: JobRequest) -> list[str]:
    """`--project` and `--region` flags that hold the job where prgcloud resolved it.

    gcloud's last occurrence of a flag wins, so these go at the end; they are left out where
    the command's own arguments already say the same (and no `--flags-file` comes after).
    `--project` is the `core/project` property, which also names the project of a KMS key
    given in parts; when `--region` named another project (`projects/P/locations/R`), the
    region is pinned in that form.
    """
    core = request.core_project
    regions = [request.parent] if core != request.project else [request.region, request.parent]
    pins = []
    if core is not None and _given(request.gcloud_args, "--project") != core:
        pins.append(f"--project={core}")
    if _given(request.gcloud_args, "--region") not in regions:
        pins.append(f"--region={regions[0]}")
    return pins


def _given(args: Sequence[str], flag: str) -> str | None:
    """The value the arguments give `flag` for sure: its last occurrence, unless a flags
    file (whose content this cannot see) comes after it."""
    value = None
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith(f"{flag}="):
            value = arg[len(flag) + 1 :]
        elif arg == "--flags-file" or arg.startswith("--flags-file="):
            value = None
    return value


def shell_word(value: str) -> str:
    """`value` as one shell word that bash and dash both read back exactly, holding no raw
    control or format character (see the module's docstring)."""
    if value.isprintable():
        return shlex.quote(value)
    parts = []
    for printable, run in groupby(value, key=str.isprintable):
        text = "".join(run)
        if printable:
            parts.append(shlex.quote(text))
            continue
        for newline, chars in groupby(text, key=lambda c: c == "\n"):
            if newline:
                parts.append(f'"${_NEWLINE_VARIABLE}"' * len(list(chars)))
            else:
                # surrogateescape: an argument's undecodable bytes are sent as they were
                data = "".join(chars).encode("utf-8", "surrogateescape")
                parts.append("\"$(printf '" + "".join(f"\\{b:03o}" for b in data) + "')\"")
    return "".join(parts)


def _write_file(content: str, target: str, *, indent: str) -> list[str]:
    """Lines that write `content` to the file `target` (a shell word), or exit the subshell.

    A quoted here-document keeps the content readable; content with a character a snippet
    must not hold raw goes through `printf` instead, one line per word.
    """
    lines = _lines(content)
    if all(line.isprintable() for line in lines):
        delimiter = heredoc_delimiter(content)
        return [f"{indent}cat >{target} <<'{delimiter}' || exit", *lines, delimiter]
    words = [f"{indent}  {shell_word(line)} \\" for line in lines]
    return [f"{indent}printf '%s\\n' \\", *words, f"{indent}  >{target} || exit"]


def _lines(content: str) -> list[str]:
    # A here-document always ends its last line; a missing final newline is added, which
    # neither YAML nor JSON notices.
    return content.removesuffix("\n").split("\n") if content else []


def heredoc_delimiter(content: str) -> str:
    """A here-document delimiter that occurs nowhere in `content`, not even inside a line."""
    delimiter, n = _HEREDOC_DELIMITER, 0
    while delimiter in content:
        n += 1
        delimiter = f"{_HEREDOC_DELIMITER}_{n}"
    return delimiter


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


# --- curl ----------------------------------------------------------------------------------


def curl_snippet(request: JobRequest, precheck_note: str | None = None) -> str:
    """A shell snippet that POSTs the job with curl, as gcloud would, with gcloud's token.

    The token goes from `gcloud auth print-access-token` into a variable, and from there to
    curl through a here-document on standard input (`-H @-`), never through an argument;
    the JSON body reaches curl through a second here-document on file descriptor 3.
    `--fail-with-body` makes an HTTP error a non-zero exit status while still showing the
    service's error message.
    """
    lines = _header(request, precheck_note, "through the Vertex AI REST API with curl")
    return _curl_text(request, request.url + "?alt=json", lines)


def _curl_text(request: JobRequest, url: str, lines: list[str]) -> str:
    """The curl snippet's text: comment `lines`, then the POST of `request.body` to `url`."""
    token_argv = ["gcloud", "auth", "print-access-token", *request.identity.gcloud_flags()]
    body = json_text(request.body)
    delimiter = heredoc_delimiter(body)
    header_delimiter = "PRGCLOUD_HEADER"
    lines = [
        *lines,
        "(",
        *([f"  {_NEWLINE_DEFINITION}"] if any("\n" in w for w in token_argv) else []),
        f"  {_TOKEN_VARIABLE}=$({' '.join(shell_word(w) for w in token_argv)}) || exit",
        "  curl -sS --fail-with-body -X POST \\",
        "    -H @- \\",
        "    -H 'Content-Type: application/json' \\",
        "    --data-binary @/dev/fd/3 \\",
        f"    {shell_word(url)} \\",
        f"    3<<'{delimiter}' <<{header_delimiter}",
        *_lines(body),
        delimiter,
        f"Authorization: Bearer ${{{_TOKEN_VARIABLE}}}",
        header_delimiter,
        ")",
    ]
    return "\n".join(lines) + "\n"


def json_text(value: Any) -> str:
    """`value` as indented JSON in which every character a snippet must not hold raw is a
    `\\uXXXX` escape (it can only occur inside a string, where JSON reads it back the same)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if text.isprintable():  # a fast path; `\n` is not printable, but indenting has some
        return text
    return "".join(c if c.isprintable() or c == "\n" else _json_escape(c) for c in text)


def _json_escape(char: str) -> str:
    return json.dumps(char)[1:-1]  # ensure_ascii: `\u2028`, a surrogate pair above U+FFFF


# --- Python (Vertex AI SDK) ----------------------------------------------------------------


def python_snippet(request: JobRequest, precheck_note: str | None = None) -> str:
    """Vertex AI SDK code that sends the same job to the same place (`python FILE`).

    A custom job: the SDK's `CustomJob` (v1, or v1beta1 for the beta and alpha tracks) from
    the very JSON gcloud sends, so every field gcloud sends is there, created with the SDK's
    `JobServiceClient` over REST, as gcloud does, at gcloud's endpoint. A tuning job: the
    SDK's own classes build it as the SDK's documentation does, `aiplatform.CustomJob(...,
    persistent_resource_id=...)` wrapped in `aiplatform.HyperparameterTuningJob(...)` with
    `hyperparameter_tuning`'s parameter specs, and the same client creates what they build
    (`HyperparameterTuningJob.run()` would wait for the whole job to end); a tuning job the
    classes cannot express (`tuning_classes_cannot_express`) is built from gcloud's JSON
    instead, as a custom job is. The token is the one gcloud would use: from gcloud's access
    token file, or from gcloud for an account, impersonation or configuration given on the
    command line; otherwise the SDK's Application Default Credentials. A job whose values
    the SDK's types cannot hold (`sdk_cannot_hold`) is posted as JSON with the SDK's auth
    library instead, as gcloud posts it.
    """
    module = "aiplatform_v1" if request.api_version == "v1" else "aiplatform_v1beta1"
    # The service reads a config's snake_case keys under their JSON names; so does the SDK,
    # which would refuse a field given under both.
    unfit = sdk_cannot_hold(request.service_body)
    tuning = isinstance(request, TuningRequest)
    if unfit is None and tuning:
        unfit = sdk_cannot_hold({"jobSpec": request.body.get("trialJobSpec") or {}})
    inexpressible = (
        tuning_classes_cannot_express(request.service_body) if tuning and unfit is None else None
    )
    body = request.service_body if unfit is None else request.body
    credential_imports, credential_lines = _python_credentials(request.identity)
    imports = ["import json", *credential_imports]
    imports += _sdk_imports(
        module, posted=unfit is not None, classes=tuning and inexpressible is None
    )
    lines = _header(request, precheck_note, "with the Vertex AI SDK")
    lines += [*_import_block(imports), "", *credential_lines]
    if unfit is None and tuning and inexpressible is None:
        assert isinstance(request, TuningRequest)
        lines += _tuning_class_lines(request, module)
        return "\n".join(lines) + "\n"
    if inexpressible is not None:
        lines += [
            "# The SDK's CustomJob and HyperparameterTuningJob classes cannot express this job",
            f"# ({_comment_safe(inexpressible)}), so it is built from gcloud's JSON.",
        ]
    lines.append("# The job exactly as gcloud sends it, in the REST API's JSON form.")
    lines.append(f"body = {_py(dict(body), 0)}")
    if unfit is None:
        lines += _create_lines(request, "aiplatform", "json.dumps(body)")
        return "\n".join(lines) + "\n"
    lines += _post_lines(request, "HyperparameterTuningJob" if tuning else "CustomJob", unfit)
    return "\n".join(lines) + "\n"


def _sdk_imports(module: str, *, posted: bool, classes: bool) -> list[str]:
    """The snippet's SDK imports: the auth library for JSON `posted` as it is, the SDK's
    high-level `classes` (a tuning job they express), else the `module` client as aiplatform."""
    if posted:
        return ["import sys", "from google.auth.transport.requests import AuthorizedSession"]
    if classes:
        return [
            "from google.cloud import aiplatform",
            f"from google.cloud import {module}",
            "from google.cloud.aiplatform import hyperparameter_tuning as hpt",
        ]
    return [f"from google.cloud import {module} as aiplatform"]


def _post_lines(request: JobRequest, kind: str, unfit: str) -> list[str]:
    """Lines that POST `body` as it is with the SDK's auth library (the SDK's `kind` cannot
    hold it: `unfit` says why), as gcloud posts it."""
    lines = [
        f"# The SDK's {kind} cannot hold this job ({_comment_safe(unfit)}), so the JSON",
        "# goes to the REST API as it is, with the SDK's auth library, as gcloud sends it.",
    ]
    lines += _call(
        "response = AuthorizedSession(credentials).post",
        [request.url, _Code("params={'alt': 'json'}"), _Code("json=body")],
    )
    lines += [
        "if not response.ok:",
        '    sys.exit(f"ERROR: HTTP {response.status_code}: {response.text}")',
        f"print(f\"{kind} [{{response.json()['name']}}] is submitted successfully.\")",
    ]
    return lines


def _create_lines(request: JobRequest, module: str, json_text: str) -> list[str]:
    """Lines that create the job whose JSON `json_text` (Python source) gives, with the SDK's
    `JobServiceClient` of `module` (as imported) over REST at gcloud's endpoint, as gcloud
    does, and print its name."""
    kind, create, argument = "CustomJob", "create_custom_job", "custom_job"
    if isinstance(request, TuningRequest):
        # the trials' CustomJobSpec (persistent_resource_id included) inside the tuning job
        kind, create = "HyperparameterTuningJob", "create_hyperparameter_tuning_job"
        argument = "hyperparameter_tuning_job"
    lines = _call(
        f"client = {module}.JobServiceClient",
        {
            "credentials": _Code("credentials"),
            "transport": "rest",  # gcloud's protocol, to gcloud's endpoint
            "client_options": {"api_endpoint": request.endpoint.rstrip("/")},
        },
    )
    lines += _call(
        f"job = client.{create}",
        {"parent": request.parent, argument: _Code(f"{module}.{kind}.from_json({json_text})")},
    )
    lines.append(f'print(f"{kind} [{{job.name}}] is submitted successfully.")')
    return lines


def _import_block(imports: Iterable[str]) -> list[str]:
    """Imports in isort's order: plain `import`s first, then `from` imports."""
    unique = set(imports)
    return sorted(unique, key=lambda line: (line.startswith("from "), line))


def _python_credentials(identity: Identity) -> tuple[list[str], list[str]]:
    """(imports, lines) that set `credentials` to the token gcloud would send."""
    if identity.access_token_file and not identity.impersonate_service_account:
        return ["from google.oauth2.credentials import Credentials"], [
            "# gcloud's access token file (--access-token-file, auth/access_token_file).",
            f"with open({identity.access_token_file!r}, encoding='utf-8') as token_file:",
            "    credentials = Credentials(token=token_file.read().strip())",
        ]
    flags = identity.gcloud_flags()
    if flags:
        argv = ["gcloud", "auth", "print-access-token", *flags]
        return ["import subprocess", "from google.oauth2.credentials import Credentials"], [
            "# The token gcloud sends as this identity (its output only, never an argument).",
            *_call(
                "token = subprocess.run",
                [argv, _Code("check=True"), _Code("stdout=subprocess.PIPE"), _Code("text=True")],
            )[:-1],
            ").stdout.strip()",
            "credentials = Credentials(token=token)",
        ]
    return ["import google.auth"], [
        "# Application Default Credentials (`gcloud auth application-default login`).",
        f"credentials, _ = google.auth.default(scopes=[{_CLOUD_PLATFORM_SCOPE!r}])",
    ]


def sdk_cannot_hold(body: Mapping[str, Any]) -> str | None:
    """Why the SDK's `CustomJob` cannot hold this body as gcloud sends it, or None if it can.

    gcloud sends some values unchecked that the SDK's types refuse: an integer beyond its
    field's size, a duration that is not one, text with bytes that are not UTF-8. The
    service refuses them too, but the snippet still sends what gcloud sends.
    """
    if _has_surrogates(body):
        return "a value holds bytes that are not UTF-8"
    return _unfit_field(body.get("jobSpec") or {}, None)


def _unfit_field(value: Any, field: str | None) -> str | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            reason = _unfit_field(item, _camel(str(key)))
            if reason:
                return reason
        return None
    if isinstance(value, list):
        return next((r for r in (_unfit_field(item, field) for item in value) if r), None)
    if field in INTEGER_BITS and not _fits_integer(value, INTEGER_BITS[field]):
        return f"{field} {_shown_value(value)} is not a {INTEGER_BITS[field]}-bit integer"
    if field in DURATION_FIELDS and not _is_duration(value):
        return f"{field} {_shown_value(value)} is not a duration the SDK reads"
    return None


def _fits_integer(value: Any, bits: int) -> bool:
    if isinstance(value, str) and _INTEGER_TEXT.match(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        return False
    return -(1 << (bits - 1)) <= number < 1 << (bits - 1)


def _is_duration(value: Any) -> bool:
    match = _DURATION_TEXT.match(value) if isinstance(value, str) else None
    return match is not None and int(match.group(1)) <= _MAX_DURATION_SECONDS


def _has_surrogates(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogates(item) for item in value)
    return isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def _shown_value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else f"{text[:37]}..."


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
    """`value` as Python source, one item per line for containers. `repr` escapes every
    character that is not printable."""
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


# --- persistent resources (`persistent-resources create --dry-run`) -----------------------


def resource_dry_run_text(request: ResourceRequest, *, style: str | None = None) -> str:
    """The `--dry-run[=shell|rest|python]` snippet that creates this persistent resource.

    The shell snippet runs gcloud with the arguments prgcloud hands it (the config's kept
    fields as flags, a generated `--config` when there is one); the rest snippet POSTs the
    body gcloud sends, to where gcloud sends it; the Python one calls the SDK's
    `PersistentResource.create(...)`. The same quoting rules hold as for jobs.
    """
    style = style or request.options.dry_run or "shell"
    if style == "shell":
        return _gcloud_text(request, _resource_header(request, "with the real gcloud"))
    if style == "rest":
        how = "through the Vertex AI REST API with curl"
        return _curl_text(request, f"{request.url}?{request.query}", _resource_header(request, how))
    if style == "python":
        return resource_python_snippet(request)
    raise ValueError(f"dry-run style must be one of {', '.join(STYLES)}, not {style!r}")


def resource_python_snippet(request: ResourceRequest) -> str:
    """Vertex AI SDK code that creates the same persistent resource in the same place.

    It calls `PersistentResource.create(...)` (`google.cloud.aiplatform.persistent_resource`,
    or the SDK's `preview` one for the beta and alpha tracks, which use v1beta1), with each
    resource pool built from the very JSON gcloud sends, over REST at gcloud's endpoint, as
    the identity gcloud would use.
    The SDK waits for the create operation to finish, then reads the resource back.
    """
    body = request.body
    beta = request.api_version != "v1"
    types_module = "aiplatform_v1beta1" if beta else "aiplatform_v1"
    credential_imports, credential_lines = _python_credentials(request.identity)
    # The SDK's top-level package does not export PersistentResource; its v1beta1 one is in
    # the SDK's `preview`.
    module = "aiplatform.preview.persistent_resource" if beta else "aiplatform.persistent_resource"
    imports = [
        "import json",
        *credential_imports,
        "from google.cloud import aiplatform",
        f"from google.cloud.{module} import PersistentResource",
        f"from google.cloud.{types_module}.types import ResourcePool",
    ]
    lines = _resource_header(request, "with the Vertex AI SDK")
    lines += [*_import_block(imports), "", *credential_lines]
    lines.append("# The resource pools exactly as gcloud sends them, in the REST API's JSON form.")
    lines.append(f"resource_pools = {_py(list(body['resourcePools']), 0)}")
    lines += _call(
        "aiplatform.init",
        {
            "project": request.project,
            "location": request.region,
            "credentials": _Code("credentials"),
            "api_endpoint": request.endpoint.rstrip("/"),
            "api_transport": "rest",  # gcloud's protocol, to gcloud's endpoint
        },
    )
    arguments: dict[str, Any] = {
        "persistent_resource_id": request.resource_id,
        "resource_pools": _Code(
            "[ResourcePool.from_json(json.dumps(pool)) for pool in resource_pools]"
        ),
    }
    if body.get("displayName"):
        arguments["display_name"] = body["displayName"]
    if body.get("labels"):
        arguments["labels"] = dict(body["labels"])
    if body.get("network"):
        arguments["network"] = body["network"]
    kms = (body.get("encryptionSpec") or {}).get("kmsKeyName")
    if kms:
        arguments["kms_key_name"] = kms
    if body.get("resourceRuntimeSpec"):
        arguments["enable_custom_service_account"] = True
    lines += _call("resource = PersistentResource.create", arguments)
    lines.append(
        'print(f"PersistentResource [{resource.resource_name}] is {resource.state.name}.")'
    )
    return "\n".join(lines) + "\n"


def _resource_header(request: ResourceRequest, how: str) -> list[str]:
    """Comment lines saying what a persistent-resource snippet does."""
    pools = len(request.body.get("resourcePools", []))
    name = request.body.get("displayName")
    lines = [
        f"Creates the persistent resource {_shown(request.resource_id)}"
        + (f" ({_shown(name)})" if name else "")
        + f" {how}.",
        f"Project {_shown(request.project)}, region {_shown(request.region)}, "
        f"{pools} resource pool{'s' if pools != 1 else ''}; checked by prgcloud.",
        *request.notes,
    ]
    return [f"# {_comment_safe(line)}".rstrip() for line in lines]


# --- Python: a tuning job through the SDK's classes ---------------------------------------

# What the SDK's high-level classes can say, per place in a HyperparameterTuningJob (v1's
# `google.cloud.aiplatform` 1.x/2.x: `CustomJob`, `HyperparameterTuningJob` and
# `hyperparameter_tuning`). tests/test_tuning_snippet.py checks these tables against the SDK.
TUNING_CLASS_FIELDS = frozenset(
    {
        "displayName",
        "studySpec",
        "maxTrialCount",
        "parallelTrialCount",
        "maxFailedTrialCount",
        "trialJobSpec",
        "labels",
        "encryptionSpec",
    }
)
STUDY_CLASS_FIELDS = frozenset({"metrics", "parameters", "algorithm", "measurementSelectionType"})
SEARCH_ALGORITHMS = {
    "ALGORITHM_UNSPECIFIED": None,
    "GRID_SEARCH": "grid",
    "RANDOM_SEARCH": "random",
}
MEASUREMENT_SELECTIONS = {
    "MEASUREMENT_SELECTION_TYPE_UNSPECIFIED": None,
    "BEST_MEASUREMENT": "best",
    "LAST_MEASUREMENT": "last",
}
SCALES = {
    "SCALE_TYPE_UNSPECIFIED": "unspecified",
    "UNIT_LINEAR_SCALE": "linear",
    "UNIT_LOG_SCALE": "log",
    "UNIT_REVERSE_LOG_SCALE": "reverse_log",
}
# parameter value spec -> (hyperparameter_tuning class, its condition on a child's parent values)
PARAMETER_CLASSES = {
    "doubleValueSpec": ("DoubleParameterSpec", None),
    "integerValueSpec": ("IntegerParameterSpec", "parentIntValues"),
    "categoricalValueSpec": ("CategoricalParameterSpec", "parentCategoricalValues"),
    "discreteValueSpec": ("DiscreteParameterSpec", "parentDiscreteValues"),
}
# The v1beta1 machine fields the SDK's CustomJob (v1 messages) has no place for.
V1BETA1_ONLY_MACHINE_FIELDS = frozenset({"minGpuDriverVersion", "multihostGpuNodeCount"})
# A trial spec's fields the classes take (the rest are set as `run()` would set them).
_TRIAL_CLASS_FIELDS = ("workerPoolSpecs", "persistentResourceId", "baseOutputDirectory")
_UNUSED_STAGING_BUCKET = "gs://unused-staging-bucket"


def tuning_classes_cannot_express(body: Mapping[str, Any]) -> str | None:
    """Why the SDK's `CustomJob` and `HyperparameterTuningJob` classes cannot build this
    tuning job as gcloud sends it, or None if they can.

    They take a display name, the trials' worker pools, persistent resource and base output
    directory, the metrics (id and goal), the parameters (`hyperparameter_tuning`'s double,
    integer, categorical and discrete specs, with scales and conditional specs), the search
    algorithm, the measurement selection, the trial counts, labels and a CMEK key; nothing
    else (no automated stopping spec, no default values, no observation noise, ...).
    """
    extra = sorted(set(body) - TUNING_CLASS_FIELDS)
    if extra:
        return f"HyperparameterTuningJob(...) has no argument for {extra[0]}"
    name = body.get("displayName")
    if not isinstance(name, str) or not name:
        return "HyperparameterTuningJob(...) names a job without a display name itself"
    for field in ("maxTrialCount", "parallelTrialCount", "maxFailedTrialCount"):
        if field in body and not _fits_integer(body[field], 32):
            return f"{field} {_shown_value(body[field])} is not a 32-bit integer"
    labels = body.get("labels", {})
    if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
        return "labels is not a map of text to text"
    encryption = body.get("encryptionSpec", {})
    if not isinstance(encryption, Mapping) or set(encryption) - {"kmsKeyName"}:
        return "encryption_spec_key_name holds a KMS key name only"
    return _study_reason(body.get("studySpec")) or _trial_reason(body.get("trialJobSpec"))


def _study_reason(study: Any) -> str | None:
    if not isinstance(study, Mapping):
        return "studySpec is not a message"
    extra = sorted(set(study) - STUDY_CLASS_FIELDS)
    if extra:
        return f"HyperparameterTuningJob(...) has no argument for studySpec.{extra[0]}"
    if study.get("algorithm", "ALGORITHM_UNSPECIFIED") not in SEARCH_ALGORITHMS:
        return f"search_algorithm has no name for {_shown_value(study.get('algorithm'))}"
    selection = study.get("measurementSelectionType", "MEASUREMENT_SELECTION_TYPE_UNSPECIFIED")
    if selection not in MEASUREMENT_SELECTIONS:
        return f"measurement_selection has no name for {_shown_value(selection)}"
    metrics = study.get("metrics") or []
    if not isinstance(metrics, list):
        return "studySpec.metrics is not a list"
    seen: set[str] = set()
    for metric in metrics:
        if not isinstance(metric, Mapping) or set(metric) - {"metricId", "goal"}:
            return "metric_spec holds a metric's id and goal only"
        metric_id = metric.get("metricId")
        if not isinstance(metric_id, str) or metric_id in seen:
            return "metric_spec is a map by metric id: each metric needs its own"
        seen.add(metric_id)
        if metric.get("goal") not in ("MAXIMIZE", "MINIMIZE"):
            return "metric_spec's goal is maximize or minimize"
    return _parameters_reason(study.get("parameters") or [], None)


def _parameters_reason(parameters: Any, parent: str | None) -> str | None:
    """Why `parameters` (top-level ones, or the conditional specs of a `parent` value spec)
    cannot be `hyperparameter_tuning` specs."""
    if not isinstance(parameters, list):
        return "a parameter list is not a list"
    seen: set[str] = set()
    for item in parameters:
        if not isinstance(item, Mapping):
            return "a parameter spec is not a message"
        spec = item
        if parent is not None:
            condition = PARAMETER_CLASSES[parent][1]
            if condition is None or set(item) != {"parameterSpec", condition}:
                return "a conditional spec's parent values must match its parent's kind"
            values = item[condition]
            if not isinstance(values, Mapping) or set(values) != {"values"}:
                return f"{condition} holds values only"
            if not _values_fit(parent, values["values"]):
                return f"{condition} {_shown_value(values['values'])} do not fit the parent"
            spec = item["parameterSpec"]
            if not isinstance(spec, Mapping):
                return "a conditional parameterSpec is not a message"
        reason = _parameter_reason(spec, seen)
        if reason:
            return reason
    return None


def _parameter_reason(spec: Mapping[str, Any], seen: set[str]) -> str | None:
    parameter_id = spec.get("parameterId")
    if not isinstance(parameter_id, str) or parameter_id in seen:
        return "parameter_spec is a map by parameter id: each parameter needs its own"
    seen.add(parameter_id)
    kinds = [kind for kind in PARAMETER_CLASSES if kind in spec]
    extra = set(spec) - {*kinds, "parameterId", "scaleType", "conditionalParameterSpecs"}
    if len(kinds) != 1 or extra:
        return f"parameter {parameter_id!r} is not one of hyperparameter_tuning's specs"
    kind = kinds[0]
    values = spec[kind]
    scale = spec.get("scaleType", "SCALE_TYPE_UNSPECIFIED")
    if scale not in SCALES or (
        kind == "categoricalValueSpec" and scale != "SCALE_TYPE_UNSPECIFIED"
    ):
        return f"parameter {parameter_id!r}: {PARAMETER_CLASSES[kind][0]} has no scale {scale}"
    if not isinstance(values, Mapping):
        return f"parameter {parameter_id!r}: {kind} is not a message"
    if kind in ("doubleValueSpec", "integerValueSpec"):
        if set(values) - {"minValue", "maxValue"}:
            return f"{PARAMETER_CLASSES[kind][0]} takes min and max only (no default value)"
        if not all(_values_fit(kind, [v]) for v in values.values()):
            return f"parameter {parameter_id!r}: {kind} holds a value it cannot take"
    elif set(values) != {"values"} or not _values_fit(kind, values["values"]):
        return f"{PARAMETER_CLASSES[kind][0]} takes a list of values only (no default value)"
    conditional = spec.get("conditionalParameterSpecs")
    if conditional:
        return _parameters_reason(conditional, kind)
    return None


def _values_fit(kind: str, values: Any) -> bool:
    """Whether `values` are a list of what the value spec `kind` holds."""
    if not isinstance(values, list):
        return False
    if kind == "categoricalValueSpec":
        return all(isinstance(v, str) for v in values)
    if kind == "integerValueSpec":
        return all(_fits_integer(v, 64) for v in values)
    return all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _trial_reason(spec: Any) -> str | None:
    if not isinstance(spec, Mapping):
        return "trialJobSpec is not a message"
    pools = spec.get("workerPoolSpecs") or []
    if not isinstance(pools, list) or not all(isinstance(p, Mapping) for p in pools):
        return "trialJobSpec.workerPoolSpecs is not a list of messages"
    for pool in pools:
        machine = pool.get("machineSpec") or {}
        extra = (
            sorted(set(machine) & V1BETA1_ONLY_MACHINE_FIELDS)
            if isinstance(machine, Mapping)
            else []
        )
        if extra:
            return f"the SDK's CustomJob (v1) has no machineSpec.{extra[0]}"
    if not isinstance(spec.get("persistentResourceId", ""), str):
        return "persistentResourceId is not text"
    output = spec.get("baseOutputDirectory")
    if output is not None and (
        not isinstance(output, Mapping)
        or set(output) != {"outputUriPrefix"}
        or not isinstance(output["outputUriPrefix"], str)
        or not output["outputUriPrefix"]
    ):
        return "base_output_dir is an output URI prefix only"
    return None


def _tuning_class_lines(request: TuningRequest, module: str) -> list[str]:
    """The snippet's lines from the credentials on: the job built with the SDK's classes,
    created with its `JobServiceClient` (see `python_snippet`)."""
    body = request.service_body
    spec: Mapping[str, Any] = body["trialJobSpec"]
    study: Mapping[str, Any] = body["studySpec"]
    where = {
        "project": request.project,
        "location": request.region,
        "credentials": _Code("credentials"),
    }
    job_arguments: dict[str, Any] = {
        "display_name": body["displayName"],
        "worker_pool_specs": [_snake_keys(pool) for pool in spec.get("workerPoolSpecs") or []],
    }
    if spec.get("persistentResourceId"):
        job_arguments["persistent_resource_id"] = spec["persistentResourceId"]
    output = (spec.get("baseOutputDirectory") or {}).get("outputUriPrefix")
    lines = ["# Each trial runs this CustomJob (on the persistent resource, if one is named)."]
    if output:
        job_arguments["base_output_dir"] = output
        job_arguments["staging_bucket"] = output  # the SDK asks for one; the above wins
    else:
        # The SDK's CustomJob needs a staging bucket only to name a base output directory,
        # which gcloud does not send: it is taken out below.
        job_arguments["staging_bucket"] = _UNUSED_STAGING_BUCKET
    lines += _call("custom_job = aiplatform.CustomJob", {**job_arguments, **where})
    tuning_arguments = _tuning_arguments(body, study)
    lines += _call("hp_job = aiplatform.HyperparameterTuningJob", {**tuning_arguments, **where})
    lines.append("body = hp_job.to_dict()")
    if not output:
        lines += [
            "# The SDK's CustomJob gives the trials a base output directory under its staging",
            "# bucket; gcloud sends none.",
            "del body['trialJobSpec']['baseOutputDirectory']",
        ]
    rest = {key: value for key, value in spec.items() if key not in _TRIAL_CLASS_FIELDS}
    if rest:
        lines += [
            "# The trials' settings HyperparameterTuningJob.run() would add, as gcloud sends them",
            "# (run() would also wait for the whole job to end).",
            f"body['trialJobSpec'].update({_py(rest, 0)})",
        ]
    lines.append("# Created as gcloud creates it: over REST, at its endpoint, returning at once.")
    lines += _create_lines(request, module, "json.dumps(body)")
    return lines


def _tuning_arguments(body: Mapping[str, Any], study: Mapping[str, Any]) -> dict[str, Any]:
    """`aiplatform.HyperparameterTuningJob`'s arguments for the tuning job `body`."""
    arguments: dict[str, Any] = {
        "display_name": body["displayName"],
        "custom_job": _Code("custom_job"),
        "metric_spec": {m["metricId"]: m["goal"].lower() for m in study.get("metrics") or []},
        "parameter_spec": _Code(_parameter_specs(study.get("parameters") or [], None, 1)),
        "max_trial_count": int(body.get("maxTrialCount") or 0),
        "parallel_trial_count": int(body.get("parallelTrialCount") or 0),
    }
    if "maxFailedTrialCount" in body:
        arguments["max_failed_trial_count"] = int(body["maxFailedTrialCount"])
    arguments["search_algorithm"] = SEARCH_ALGORITHMS[
        study.get("algorithm", "ALGORITHM_UNSPECIFIED")
    ]
    # None unless gcloud sends one: the SDK's own default ("best") would add it
    arguments["measurement_selection"] = MEASUREMENT_SELECTIONS[
        study.get("measurementSelectionType", "MEASUREMENT_SELECTION_TYPE_UNSPECIFIED")
    ]
    if "labels" in body:
        arguments["labels"] = dict(body["labels"])
    if (body.get("encryptionSpec") or {}).get("kmsKeyName"):
        arguments["encryption_spec_key_name"] = body["encryptionSpec"]["kmsKeyName"]
    return arguments


def _parameter_specs(
    parameters: Sequence[Mapping[str, Any]], parent: str | None, depth: int
) -> str:
    """`{id: hpt.XParameterSpec(...), ...}` as Python source at `depth`."""
    pad, inner = "    " * depth, "    " * (depth + 1)
    if not parameters:
        return "{}"
    items = []
    for item in parameters:
        spec = item["parameterSpec"] if parent is not None else item
        kind = next(kind for kind in PARAMETER_CLASSES if kind in spec)
        class_name = PARAMETER_CLASSES[kind][0]
        values = spec[kind]
        arguments: dict[str, Any] = {}
        if kind == "doubleValueSpec":
            arguments = {
                "min": float(values.get("minValue", 0.0)),
                "max": float(values.get("maxValue", 0.0)),
            }
        elif kind == "integerValueSpec":
            arguments = {
                "min": int(values.get("minValue", 0)),
                "max": int(values.get("maxValue", 0)),
            }
        else:
            arguments = {"values": _typed(kind, values["values"])}
        if kind != "categoricalValueSpec":
            arguments["scale"] = SCALES[spec.get("scaleType", "SCALE_TYPE_UNSPECIFIED")]
        if spec.get("conditionalParameterSpecs"):
            arguments["conditional_parameter_spec"] = _Code(
                _parameter_specs(spec["conditionalParameterSpecs"], kind, depth + 2)
            )
        if parent is not None:
            condition = PARAMETER_CLASSES[parent][1]
            assert condition is not None
            arguments["parent_values"] = _typed(parent, item[condition]["values"])
        call = [f"{'    ' * (depth + 2)}{k}={_py(v, depth + 2)}," for k, v in arguments.items()]
        text = f"hpt.{class_name}(\n" + "\n".join(call) + f"\n{inner})"
        items.append(f"{inner}{_py(spec['parameterId'], 0)}: {text},")
    return "{\n" + "\n".join(items) + f"\n{pad}}}"


def _typed(kind: str, values: Sequence[Any]) -> list[Any]:
    if kind == "categoricalValueSpec":
        return [str(v) for v in values]
    if kind == "integerValueSpec":
        return [int(v) for v in values]
    return [float(v) for v in values]


def _snake_keys(value: Any) -> Any:
    """A worker pool's JSON with snake_case keys, as the SDK's `worker_pool_specs` takes it
    (a worker pool holds no map, so every key is a field name)."""
    if isinstance(value, Mapping):
        return {_snake(str(k)): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(item) for item in value]
    return value


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


# --- shared --------------------------------------------------------------------------------


def default_endpoint(region: str) -> str:
    """Google's regional Vertex AI endpoint, the one gcloud uses unless told otherwise."""
    return regional_endpoint(GOOGLE_ENDPOINT, region)


def _header(request: JobRequest, precheck_note: str | None, how: str) -> list[str]:
    """Comment lines (`#` starts one in both shell and Python) saying what the snippet does."""
    resource = request.persistent_resource_id
    lines = [
        f"Submits the {_kind(request)} {_shown(request.body.get('displayName') or '')} {how}.",
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


def _kind(request: JobRequest) -> str:
    return "hyperparameter tuning job" if isinstance(request, TuningRequest) else "custom job"


def _shown(value: str) -> str:
    """A value as a comment shows it: quoted, with control characters escaped."""
    return json.dumps(value, ensure_ascii=False)


def _comment_safe(line: str) -> str:
    # splitlines() splits on more than "\n"; anything that could end a line in some reader,
    # or that a terminal would act on, is escaped rather than trusted.
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else _escape(c) for c in line)


def _escape(char: str) -> str:
    return repr(char)[1:-1]  # `\x15`, `\u202e`, `\udcff`

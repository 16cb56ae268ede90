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
    """Vertex AI SDK code that sends the same CustomJob to the same place (`python FILE`).

    It builds the SDK's `CustomJob` (v1, or v1beta1 for the beta and alpha tracks) from the
    very JSON gcloud sends, so every field gcloud sends is there, and creates it with the
    SDK's `JobServiceClient` over REST, as gcloud does, at gcloud's endpoint. The token is
    the one gcloud would use: from gcloud's access token file, or from gcloud for an
    account, impersonation or configuration given on the command line; otherwise the
    SDK's Application Default Credentials. A job whose values the SDK's types cannot hold
    (`sdk_cannot_hold`) is posted as JSON with the SDK's auth library instead, as gcloud
    posts it.
    """
    module = "aiplatform_v1" if request.api_version == "v1" else "aiplatform_v1beta1"
    # The service reads a config's snake_case keys under their JSON names; so does the SDK,
    # which would refuse a field given under both.
    unfit = sdk_cannot_hold(request.service_body)
    if unfit is None and isinstance(request, TuningRequest):
        unfit = sdk_cannot_hold({"jobSpec": request.body.get("trialJobSpec") or {}})
    body = request.service_body if unfit is None else request.body
    credential_imports, credential_lines = _python_credentials(request.identity)
    imports = ["import json", *credential_imports]
    if unfit is None:
        imports.append(f"from google.cloud import {module} as aiplatform")
    else:
        imports += ["import sys", "from google.auth.transport.requests import AuthorizedSession"]
    lines = _header(request, precheck_note, "with the Vertex AI SDK")
    lines += [*_import_block(imports), "", *credential_lines]
    lines.append("# The job exactly as gcloud sends it, in the REST API's JSON form.")
    lines.append(f"body = {_py(dict(body), 0)}")
    kind = "CustomJob"
    create, message, argument = "create_custom_job", "CustomJob", "custom_job"
    if isinstance(request, TuningRequest):
        # the trials' CustomJobSpec (persistent_resource_id included) inside the tuning job
        kind = "HyperparameterTuningJob"
        create, message = "create_hyperparameter_tuning_job", "HyperparameterTuningJob"
        argument = "hyperparameter_tuning_job"
    if unfit is None:
        lines += _call(
            "client = aiplatform.JobServiceClient",
            {
                "credentials": _Code("credentials"),
                "transport": "rest",  # gcloud's protocol, to gcloud's endpoint
                "client_options": {"api_endpoint": request.endpoint.rstrip("/")},
            },
        )
        lines += _call(
            f"job = client.{create}",
            {
                "parent": request.parent,
                argument: _Code(f"aiplatform.{message}.from_json(json.dumps(body))"),
            },
        )
        lines.append(f'print(f"{kind} [{{job.name}}] is submitted successfully.")')
    else:
        lines += [
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
    return "\n".join(lines) + "\n"


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

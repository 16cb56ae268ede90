"""gcloud's properties, read the way gcloud reads them, without running gcloud.

Precedence, highest first: the command's flags (`--project`, `--region`, ...), the
`CLOUDSDK_<SECTION>_<NAME>` environment variables, the active configuration's file
(`$CLOUDSDK_CONFIG/configurations/config_<NAME>`; the name from `--configuration`, else
`CLOUDSDK_ACTIVE_CONFIG_NAME`, else the `active_config` file, else `default`), and last the
installation's `properties` file.

One quirk of gcloud's is kept: when nothing names a configuration and there is no
`active_config` file at all, gcloud (re)creates `config_default` from the legacy
`$CLOUDSDK_CONFIG/properties` file (empty when there is none) before it reads it, so whatever
`config_default` held is not what gcloud uses.
"""

from __future__ import annotations

import configparser
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from prgcloud import files
from prgcloud.errors import BadInputError


@dataclass(frozen=True)
class Properties:
    """Resolved gcloud properties; `get("core/project")` answers as gcloud would."""

    overrides: Mapping[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=dict)
    configuration: Mapping[str, str] = field(default_factory=dict)
    installation: Mapping[str, str] = field(default_factory=dict)
    configuration_name: str = "default"
    config_dir: str = ""

    def get(self, name: str) -> str | None:
        """The value of property `section/name`, or None when it is not set anywhere."""
        if name in self.overrides:
            return self.overrides[name]
        variable = env_variable(name)
        if variable in self.environ:
            return self.environ[variable]
        if name in self.configuration:
            return self.configuration[name]
        return self.installation.get(name)


def env_variable(name: str) -> str:
    """`core/project` -> `CLOUDSDK_CORE_PROJECT` (gcloud's spelling of a property as a variable)."""
    section, _, key = name.partition("/")
    return f"CLOUDSDK_{section}_{key}".upper().replace("-", "_")


def config_dir(environ: Mapping[str, str]) -> str:
    """gcloud's configuration directory: `$CLOUDSDK_CONFIG`, else `~/.config/gcloud`."""
    configured = environ.get("CLOUDSDK_CONFIG")
    if configured:
        return os.path.expanduser(configured)
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".config", "gcloud")


def active_configuration_name(environ: Mapping[str, str], flag: str | None = None) -> str:
    """The configuration gcloud would use: `--configuration`, env, `active_config`, `default`."""
    if flag:
        return flag
    if environ.get("CLOUDSDK_ACTIVE_CONFIG_NAME"):
        return environ["CLOUDSDK_ACTIVE_CONFIG_NAME"]
    path = os.path.join(config_dir(environ), "active_config")
    try:
        name = files.read_text(path, limit=files.PROPERTIES_FILE_LIMIT).strip()
    except FileNotFoundError:
        return "default"
    except OSError as error:
        raise _unreadable(path, error) from error
    return name or "default"


def _configuration_file(directory: str, name: str, *, named: bool) -> str:
    """The file whose values gcloud will use as the configuration `name`'s.

    Without a name from a flag or the environment and without an `active_config` file, gcloud
    first writes the legacy `properties` file's text over `config_default` (see the module's
    docstring): its values are the legacy file's. `named`: a flag or the environment named it.
    """
    activator = os.path.join(directory, "active_config")
    if not named and not os.path.lexists(activator):
        return os.path.join(directory, "properties")
    return os.path.join(directory, "configurations", f"config_{name}")


def read_properties_file(path: str) -> dict[str, str]:
    """An INI file of gcloud properties as {"section/name": value}; missing file -> {}."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(files.read_text(path, limit=files.PROPERTIES_FILE_LIMIT), path)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise _unreadable(path, error) from error
    except configparser.Error as error:
        raise BadInputError(
            f"gcloud configuration file {path} cannot be read: {error}. "
            "Fix it with `gcloud config` or pass the values as flags."
        ) from error
    return {
        f"{section}/{key}": value
        for section in parser.sections()
        for key, value in parser.items(section)
    }


def _unreadable(path: str, error: OSError) -> BadInputError:
    return BadInputError(
        f"gcloud configuration file {path} cannot be read: {error.strerror or error}. "
        "Fix it with `gcloud config` or pass the values as flags."
    )


def is_true(value: str | None) -> bool:
    """A boolean property's value as gcloud reads it (`1`, `true`, `yes`, `on`, `y`)."""
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y")


def load_properties(
    environ: Mapping[str, str],
    *,
    configuration: str | None = None,
    overrides: Mapping[str, str] | None = None,
    sdk_root: str | None = None,
) -> Properties:
    """Read every layer of gcloud's properties for this environment and these flags."""
    directory = config_dir(environ)
    name = active_configuration_name(environ, configuration)
    configuration_values = read_properties_file(
        _configuration_file(
            directory, name, named=bool(configuration or environ.get("CLOUDSDK_ACTIVE_CONFIG_NAME"))
        )
    )
    installation = read_properties_file(os.path.join(sdk_root, "properties")) if sdk_root else {}
    return Properties(
        overrides=dict(overrides or {}),
        environ=dict(environ),
        configuration=configuration_values,
        installation=installation,
        configuration_name=name,
        config_dir=directory,
    )


GOOGLE_ENDPOINT = "https://aiplatform.googleapis.com/"


def aiplatform_endpoint(properties: Properties, region: str) -> str:
    """The base URL gcloud sends Vertex AI requests to, always ending in `/`.

    `api_endpoint_overrides/aiplatform` when set (gcloud refuses one without the trailing
    `/`); otherwise `https://aiplatform.googleapis.com/`. Either way, as gcloud's
    `DeriveAiplatformRegionalEndpoint` does, a host that starts with `aiplatform` gets the
    region in front: `https://REGION-aiplatform.googleapis.com/`.
    """
    override = properties.get("api_endpoint_overrides/aiplatform")
    if override is not None and not _is_endpoint(override):
        raise BadInputError.at(
            "api_endpoint_overrides/aiplatform",
            f"Invalid value [{_escaped(override)}]: gcloud wants an absolute URI beginning "
            "with http:// or https:// and ending with a trailing '/'.",
        )
    return regional_endpoint(override or GOOGLE_ENDPOINT, region)


def _escaped(text: str) -> str:
    # A CR or LF in the value must not break the one-paragraph message.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def regional_endpoint(endpoint: str, region: str) -> str:
    """gcloud's `DeriveAiplatformRegionalEndpoint`: the region before an `aiplatform*` host."""
    parts = urllib.parse.urlparse(endpoint)
    if parts.netloc.startswith("aiplatform"):
        parts = parts._replace(netloc=f"{region}-{parts.netloc}")
    return urllib.parse.urlunparse(parts)


# gcloud's `_VALID_ENDPOINT_OVERRIDE_REGEX` (core/properties.py), as gcloud matches it: with
# `re.match` and a `$` that also matches before a final newline.
_ENDPOINT_OVERRIDE = re.compile(
    r"^(?:https?)://"
    r"(?:(?:[A-Z0-9](?:[A-Z0-9-.])+)|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[?[A-F0-9]*:[A-F0-9:]+\]?)"
    r"(?::\d+)?"
    r"(?:/|[/?]\S+/)$",
    re.IGNORECASE,
)


def _is_endpoint(url: str) -> bool:
    """gcloud's EndpointValidator, less what gcloud accepts but then cannot use.

    gcloud takes `http://[::1/` and crashes parsing it, and takes a query (`/?a=b/`) or a
    fragment and then fails to build the request URL: those are refused here too.
    """
    if not _ENDPOINT_OVERRIDE.match(url):
        return False
    try:
        parts = urllib.parse.urlparse(url)
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        return False
    return not (parts.query or parts.fragment or parts.params)

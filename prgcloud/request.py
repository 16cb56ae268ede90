"""The typed request every layer below the CLI works with.

`JobRequest` is what `gcloud ai custom-jobs create ARGS...` means once parsed, merged with
`--config` and validated: where it goes (project, region, endpoint, API version), exactly
what gcloud will POST (`body`), as whom (`identity`), and prgcloud's own options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from prgcloud import jobconfig

API_VERSIONS = {None: "v1", "beta": "v1beta1", "alpha": "v1beta1"}


@dataclass(frozen=True)
class Identity:
    """Who gcloud acts as for one command, resolved once from its flags and every property layer.

    The parse layer fills it in (`parse.identity`), from the same properties gcloud reads:
    flags, `CLOUDSDK_*` variables, the active configuration and the installation's
    `properties` file. The pre-check, the capacity read and the token lookup all take it from
    there and read no property again. `configuration` is the `--configuration` flag; the other
    flag-named fields are the resolved properties those flags set (`account` is `core/account`,
    `impersonate_service_account` is `auth/impersonate_service_account`, ...).
    """

    account: str | None = None
    impersonate_service_account: str | None = None
    access_token_file: str | None = None
    configuration: str | None = None
    credential_file_override: str | None = None
    authorization_token_file: str | None = None
    # What else decides whether gcloud's token cache holds the token gcloud would send.
    disable_credentials: bool = False
    universe_domain: str | None = None  # None: googleapis.com
    config_dir: str | None = None  # gcloud's configuration directory (its credential store)

    def gcloud_flags(self) -> tuple[str, ...]:
        """This identity as gcloud flags (for `gcloud auth print-access-token`).

        Each flag-named field is its flag: `impersonate_service_account` is
        `--impersonate-service-account`.
        """
        return tuple(
            f"--{name.replace('_', '-')}={value}"
            for name, value in asdict(self).items()
            if value and name in _FLAG_FIELDS
        )


_FLAG_FIELDS = (
    "account",
    "impersonate_service_account",
    "access_token_file",
    "configuration",
    "credential_file_override",
    "authorization_token_file",
)


@dataclass(frozen=True)
class Options:
    """prgcloud's own flags; gcloud never sees them."""

    dry_run: str | None = None  # None, "shell", "rest" or "python"
    skip_precheck: bool = False
    wait_for_capacity: float | None = None  # seconds, None when not waiting
    strict: bool = False
    # `--wait[=DURATION]` / `--stream-logs`: once submitted, wait for the job to end
    # (wait_timeout None: no limit), streaming its logs meanwhile
    wait: bool = False
    wait_timeout: float | None = None
    stream_logs: bool = False


@dataclass(frozen=True)
class JobRequest:
    """One custom-job submission, fully resolved.

    `gcloud_args` are the arguments after `gcloud` that submit it (prgcloud's own flags
    removed). When gcloud cannot express the job on its command line (a disk spec, or
    `--config -` that prgcloud already read), `config_yaml` holds the job spec that must be
    written to a file, and `--config=PATH` goes into `gcloud_args` at `config_index`
    (`gcloud_argv(PATH)` puts it there).
    """

    track: str | None
    project: str
    region: str
    endpoint: str
    body: Mapping[str, Any]
    gcloud_args: tuple[str, ...]
    config_yaml: str | None = None
    config_index: int | None = None
    identity: Identity = field(default_factory=Identity)
    options: Options = field(default_factory=Options)
    # The `core/project` property (flag, environment, configuration): the job's `project`
    # unless `--region` named another (`projects/P/locations/R`); None when it is not set.
    # gcloud also takes a KMS key's default project from it.
    core_project: str | None = None

    @property
    def api_version(self) -> str:
        """`v1`, or `v1beta1` for the beta and alpha tracks."""
        return API_VERSIONS[self.track]

    @property
    def parent(self) -> str:
        """`projects/P/locations/R`."""
        return f"projects/{self.project}/locations/{self.region}"

    @property
    def url(self) -> str:
        """The URL gcloud POSTs the job to."""
        return f"{self.endpoint}{self.api_version}/{self.parent}/customJobs"

    @property
    def persistent_resource_id(self) -> str | None:
        """The persistent resource the job asks to run on, if any."""
        value = self.service_body.get("jobSpec", {}).get("persistentResourceId")
        return str(value) if value else None

    @property
    def persistent_resource_name(self) -> str | None:
        """`projects/P/locations/R/persistentResources/ID`, if the job names one."""
        rid = self.persistent_resource_id
        return f"{self.parent}/persistentResources/{rid}" if rid else None

    def gcloud_argv(self, config_path: str | None = None) -> tuple[str, ...]:
        """`gcloud_args` with `--config=config_path` where the generated config file goes."""
        if self.config_yaml is None:
            return self.gcloud_args
        if config_path is None:
            raise ValueError("this request needs the path of its generated --config file")
        before, after = self.gcloud_args_around_config()
        return (*before, f"--config={config_path}", *after)

    def gcloud_args_around_config(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """`gcloud_args` split where `--config=PATH` goes (at the end unless `config_index`)."""
        if self.config_yaml is None or self.config_index is None:
            return self.gcloud_args, ()
        return self.gcloud_args[: self.config_index], self.gcloud_args[self.config_index :]

    @property
    def service_body(self) -> Mapping[str, Any]:
        """`body` as Vertex AI reads it: snake_case keys of a `--config` under their JSON names.

        gcloud sends a config's `replica_count` as it is; the service reads it as
        `replicaCount` (the proto3 JSON mapping takes both). The pre-check reads this.
        """
        view: Mapping[str, Any] = jobconfig.service_view(self.body, self.api_version)
        return view


@dataclass(frozen=True)
class TuningRequest(JobRequest):
    """One hyperparameter-tuning-job submission (`ai hp-tuning-jobs create`), fully resolved.

    `body` is the HyperparameterTuningJob gcloud POSTs; `config_yaml`, when set, is that
    whole job (gcloud's `--config` for this command is the job itself, not a spec).
    """

    @property
    def url(self) -> str:
        """The URL gcloud POSTs the tuning job to."""
        return f"{self.endpoint}{self.api_version}/{self.parent}/hyperparameterTuningJobs"

    @property
    def persistent_resource_id(self) -> str | None:
        """The persistent resource the trials ask to run on (`trialJobSpec`), if any."""
        spec = self.body.get("trialJobSpec")
        value = spec.get("persistentResourceId") if isinstance(spec, Mapping) else None
        return str(value) if value else None

    @property
    def service_body(self) -> Mapping[str, Any]:
        """`body` as it is: gcloud's strict reader lets no snake_case key through."""
        return self.body

    @property
    def trial_body(self) -> dict[str, Any]:
        """The CustomJob each trial runs, as Vertex AI reads it: the tuning job's display name
        and labels, its `trialJobSpec` as `jobSpec`, and its CMEK key (`encryptionSpec`)."""
        trial: dict[str, Any] = {}
        for key in ("displayName", "labels", "encryptionSpec"):
            if key in self.body:
                trial[key] = self.body[key]
        spec = self.body.get("trialJobSpec")
        trial["jobSpec"] = spec if isinstance(spec, Mapping) else {}
        return trial

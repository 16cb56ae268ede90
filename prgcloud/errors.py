"""One error base; each outcome that has its own exit code has its own subclass.

Library code raises these; only the CLI turns them into a message and an exit code.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prgcloud import exit_codes


class PrgcloudError(Exception):
    """Base of every error prgcloud expects; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, said where the user wrote it.

    `where` is the flag (`--worker-pool-spec`), or a flag and a pool
    (`--worker-pool-spec #2`), or a config key path (`--config workerPoolSpecs[0].machineSpec`).
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"argument {self.where}: {self.message}" if self.where else self.message


class BadInputError(PrgcloudError):
    """A flag, a spec key or value, or a config file is wrong; nothing was sent (exit 2)."""

    exit_code = exit_codes.BAD_INPUT

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        self.problems: Sequence[Problem] = (
            (Problem("", problems),) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, where: str, message: str) -> BadInputError:
        """A single problem at one place."""
        return cls([Problem(where, message)])


class DoesNotFitError(PrgcloudError):
    """The job does not fit the persistent resource as it stands (exit 3)."""

    exit_code = exit_codes.DOES_NOT_FIT


class ResourceInUseError(PrgcloudError):
    """Jobs run on the persistent resource that a delete or reboot would end (exit 3)."""

    exit_code = exit_codes.DOES_NOT_FIT


class PrecheckFailedError(PrgcloudError):
    """The pre-check could not be done: not found, denied, unreachable, no credentials (exit 4)."""

    exit_code = exit_codes.PRECHECK_FAILED


class ApiUnavailableError(PrecheckFailedError):
    """The API could not answer now (unreachable, too slow, 429, 5xx): waiting may cure it.

    Exit 4 like any pre-check that could not be done; a wait counts it as a missed poll and
    goes on until its deadline. `reason` says what happened in a few words (for a status
    line); `retry_after` is how long the server asked to be left alone, in seconds (or 0).
    """

    def __init__(self, message: str, *, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class NotFoundError(PrecheckFailedError):
    """What was to be read does not exist (exit 4): a wait for it to be gone ends here."""


class WaitTimedOutError(PrgcloudError):
    """A wait ran out of time (exit 5): `--wait-for-capacity`, a resource's `--wait`, or a
    wait for a job to end."""

    exit_code = exit_codes.WAIT_TIMED_OUT


class ResourceFailedError(PrgcloudError):
    """The persistent resource went to ERROR while it was waited for (exit 6).

    `state` is the state it was seen in; `error_message` is the resource's own `error.message`
    ("" when it gave none).
    """

    exit_code = exit_codes.FAILED

    def __init__(self, message: str, *, state: str, error_message: str = "") -> None:
        super().__init__(message)
        self.state = state
        self.error_message = error_message


class JobFailedError(PrgcloudError):
    """The job waited for ended FAILED or EXPIRED (exit 6); the message holds its error."""

    exit_code = exit_codes.FAILED


class JobCancelledError(PrgcloudError):
    """The job waited for ended CANCELLED (exit 7)."""

    exit_code = exit_codes.CANCELLED


class PolicyRefusedError(PrgcloudError):
    """A policy hook refused the request; nothing was sent (exit 8)."""

    exit_code = exit_codes.POLICY_REFUSED


class PluginNotRunnableError(PrgcloudError):
    """A `prgcloud-NAME` plugin was found but cannot be run (exit 126, as a shell says)."""

    exit_code = exit_codes.PLUGIN_NOT_RUNNABLE


class GcloudNotFoundError(PrgcloudError):
    """There is no gcloud to run (exit 127, as a shell says for a missing command)."""

    exit_code = exit_codes.GCLOUD_NOT_FOUND

"""The one error the emulator's layers raise: a `google.rpc.Status` the server sends back.

It is the emulator's own, not a `prgcloud.errors.PrgcloudError`: the emulator plays Google's
service, and nothing in it may answer in prgcloud's words or be caught as prgcloud's error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# google.rpc.Code name -> (numeric code, HTTP status), as Google's REST APIs map them
STATUS_CODES: Mapping[str, tuple[int, int]] = {
    "CANCELLED": (1, 499),
    "UNKNOWN": (2, 500),
    "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "FAILED_PRECONDITION": (9, 400),
    "ABORTED": (10, 409),
    "OUT_OF_RANGE": (11, 400),
    "UNIMPLEMENTED": (12, 501),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "DATA_LOSS": (15, 500),
    "UNAUTHENTICATED": (16, 401),
}


class ApiError(Exception):
    """A request the emulator answers with an error status, as Vertex AI would.

    `violations` are (field, description) pairs sent as a `google.rpc.BadRequest` detail.
    """

    def __init__(
        self, status: str, message: str, violations: Sequence[tuple[str, str]] = ()
    ) -> None:
        if status not in STATUS_CODES:
            raise ValueError(f"not a google.rpc.Code name: {status}")
        super().__init__(message)
        self.message = message
        self.status = status
        self.violations = tuple(violations)

    @property
    def http_status(self) -> int:
        """The HTTP status code the REST API answers this status with."""
        return STATUS_CODES[self.status][1]

    def to_json(self) -> dict[str, Any]:
        """The response body: `{"error": google.rpc.Status}`."""
        error: dict[str, Any] = {
            "code": self.http_status,
            "message": self.message,
            "status": self.status,
        }
        if self.violations:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": field, "description": description}
                        for field, description in self.violations
                    ],
                }
            ]
        return {"error": error}


def invalid(message: str, field: str | None = None) -> ApiError:
    """400 INVALID_ARGUMENT, naming the field when there is one."""
    return ApiError("INVALID_ARGUMENT", message, [(field, message)] if field else ())


def found_errors(violations: Sequence[tuple[str, str]]) -> ApiError:
    """400 INVALID_ARGUMENT for what Vertex AI's own checks find wrong in a request, worded as
    it words them: `List of found errors:\t1.Field: job_spec...; Message: ...\t`."""
    listed = "".join(
        f"{number}.Field: {field}; Message: {text}\t"
        for number, (field, text) in enumerate(violations, start=1)
    )
    return ApiError("INVALID_ARGUMENT", f"List of found errors:\t{listed}", violations)


def not_found(name: str, kind: str) -> ApiError:
    """404 NOT_FOUND for a resource name."""
    return ApiError("NOT_FOUND", f"{kind} {name} is not found.")


def failed_precondition(message: str) -> ApiError:
    """400 FAILED_PRECONDITION."""
    return ApiError("FAILED_PRECONDITION", message)

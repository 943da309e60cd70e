"""The exception tree of CoWorks.

Every error CoWorks raises on purpose derives from :class:`CoworksError`. Each layer has
its own subclass, HTTP errors carry their status code, and each class names the exit
code the ``cws`` command uses for it, so the CLI never picks exit codes by hand.
"""

from __future__ import annotations

from typing import Any


class CoworksError(Exception):
    """Root of every error CoWorks raises on purpose."""

    #: Exit code of ``cws`` when this error ends a command.
    exit_code: int = 1


class ConfigError(CoworksError):
    """A project file, stage setting or service definition is wrong."""

    exit_code = 2


class EngineError(CoworksError):
    """An operation of the embedded engine was refused.

    ``code`` is the error name AWS Step Functions gives for the same refusal
    (``ExecutionDoesNotExist``, ``InvalidDefinition``, ...), so the engine's
    AWS-protocol endpoint and the boto3 backend report the same names.
    """

    exit_code = 4

    def __init__(self, code: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code


class DeployError(CoworksError):
    """Packaging or deploying a project failed."""

    exit_code = 5


class UnknownEventError(CoworksError):
    """A service's Lambda handler was given an event it does not know."""


class HTTPError(CoworksError):
    """An error answered to an HTTP client with a status and a JSON body.

    The body is ``{"error": <error>, "message": <message>}``, plus ``details`` when
    given.
    """

    status_code: int = 500
    error: str = "InternalServerError"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        """Return the JSON body answered for this error."""
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequestError(HTTPError):
    status_code = 400
    error = "BadRequest"


class UnauthorizedError(HTTPError):
    status_code = 401
    error = "Unauthorized"


class ForbiddenError(HTTPError):
    status_code = 403
    error = "Forbidden"


class NotFoundError(HTTPError):
    status_code = 404
    error = "NotFound"


class MethodNotAllowedError(HTTPError):
    status_code = 405
    error = "MethodNotAllowed"


class ConflictError(HTTPError):
    status_code = 409
    error = "Conflict"


class PayloadTooLargeError(HTTPError):
    status_code = 413
    error = "PayloadTooLarge"


class UnsupportedMediaTypeError(HTTPError):
    status_code = 415
    error = "UnsupportedMediaType"


class InternalServerError(HTTPError):
    status_code = 500
    error = "InternalServerError"

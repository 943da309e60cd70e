"""The errors a state machine fails with, under AWS's names.

A :class:`StatesError` travels through the interpreter when a state fails: Retry and
Catch match its ``error`` name, and an uncaught one ends the execution with its
``error`` and ``cause``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ALL",
    "BRANCH_FAILED",
    "DATA_LIMIT_EXCEEDED",
    "HistoryLimitError",
    "HEARTBEAT_TIMEOUT",
    "INTRINSIC_FAILURE",
    "ITEM_READER_FAILED",
    "NO_CHOICE_MATCHED",
    "PARAMETER_PATH_FAILURE",
    "QUERY_EVALUATION_ERROR",
    "REFERENCE_PATH_CONFLICT",
    "RESULT_PATH_MATCH_FAILURE",
    "RUNTIME",
    "StatesError",
    "TASK_FAILED",
    "TIMEOUT",
]

ALL = "States.ALL"
BRANCH_FAILED = "States.BranchFailed"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
ITEM_READER_FAILED = "States.ItemReaderFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
REFERENCE_PATH_CONFLICT = "States.ReferencePathConflict"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
RUNTIME = "States.Runtime"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"

#: Errors that ``States.ALL`` does not catch nor retry (AWS's rule).
TERMINAL = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class StatesError(Exception):
    """A state failed with AWS error ``error`` and ``cause``.

    Attributes:
        error: The error name Retry and Catch match.
        cause: The cause text (``None`` when the failure has none).
        located: Whether the cause already says where it happened. A failure of
            a state's own evaluation is not: the interpreter prefixes its cause
            with the state's name and entry event, as AWS does. Task failures,
            Fail states and branch failures are passed on as they are.
    """

    def __init__(
        self, error: str, cause: str | None = None, *, located: bool = False
    ) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.located = located

    def error_output(self) -> dict[str, Any]:
        """Return the ``{"Error", "Cause"}`` object a Catch passes on.

        AWS binds an empty string to a missing error or cause.
        """
        return {
            "Error": "" if self.error is None else self.error,
            "Cause": "" if self.cause is None else self.cause,
        }


class HistoryLimitError(StatesError):
    """The execution reached AWS's history event limit: it fails, uncatchable."""


def state_cause(state: str, entered_event_id: int, detail: str) -> str:
    """Return AWS's cause for a failure inside a state's own processing.

    Args:
        state: The state's name.
        entered_event_id: The id of its ``...StateEntered`` event.
        detail: What went wrong, in AWS's words.

    Returns:
        ``"An error occurred while executing the state 'S' (entered at the event
        id #N). <detail>"``.
    """
    return (
        f"An error occurred while executing the state '{state}' "
        f"(entered at the event id #{entered_event_id}). {detail}"
    )

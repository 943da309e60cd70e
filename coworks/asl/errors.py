"""Errors raised by the ASL expression languages.

Each error carries the name AWS Step Functions gives the failure (``error``) and the
text AWS puts in the failure's cause (``cause``). The interpreter prefixes the cause
with the sentence naming the state, as AWS does::

    An error occurred while executing the state 'Pass' (entered at the event id #2).

Syntax errors (:class:`ExpressionSyntaxError`: :class:`PathSyntaxError`,
:class:`IntrinsicSyntaxError`) also carry the character ``position`` of the problem in
the expression, for the linter.
"""

from __future__ import annotations

from coworks.errors import CoworksError

__all__ = [
    "ExpressionError",
    "ExpressionSyntaxError",
    "IntrinsicError",
    "IntrinsicSyntaxError",
    "JsonataError",
    "PathNotFoundError",
    "PathSyntaxError",
    "ResultPathError",
]


class ExpressionError(CoworksError):
    """An ASL expression could not be parsed or evaluated.

    Attributes:
        error: the AWS error name of the failure (``States.Runtime``, ...).
        cause: the text AWS reports as the cause, without the state prefix.
    """

    error: str = "States.Runtime"

    def __init__(self, cause: str, *, error: str | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        if error is not None:
            self.error = error


class ExpressionSyntaxError(ExpressionError):
    """An expression is malformed.

    ``position`` is the index of the offending character in the expression.
    """

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class PathSyntaxError(ExpressionSyntaxError):
    """A JSONPath expression is malformed."""


class PathNotFoundError(ExpressionError):
    """A definite JSONPath selected nothing in the data it was applied to.

    ``path`` is the expression as written and ``detail`` the reason in AWS's words
    (``No results for path: $['a']``); the default cause is the one AWS gives for
    ``InputPath`` and ``OutputPath``.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"Invalid path '{path}' : {detail}")
        self.path = path
        self.detail = detail


class ResultPathError(ExpressionError):
    """A ``ResultPath`` cannot be applied to the state's input."""

    error = "States.ResultPathMatchFailure"


class IntrinsicSyntaxError(ExpressionSyntaxError):
    """An intrinsic function call is malformed (name, arity or argument syntax)."""


class IntrinsicError(ExpressionError):
    """An intrinsic function failed at run time."""

    error = "States.IntrinsicFailure"


class JsonataError(ExpressionError):
    """A JSONata expression failed, or returned what its field does not accept."""

    error = "States.QueryEvaluationError"

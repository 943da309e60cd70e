"""``TestState``: run one state of a definition on an input, with inspection data."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from coworks.errors import EngineError

if TYPE_CHECKING:
    from coworks.engine.service import Engine

logger = logging.getLogger(__name__)

__all__ = ["test_state"]


def test_state(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """Answer a ``TestState`` request.

    Raises:
        EngineError: always, until TestState is written.
    """
    raise EngineError(
        "ValidationException",
        "TestState is not supported by the embedded engine yet: run the state in a "
        "one-state machine with StartExecution instead.",
    )

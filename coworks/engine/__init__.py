"""The embedded engine: Amazon States Language interpreted on one machine.

The interpreter (:mod:`coworks.engine.interpreter`) runs one execution, pure apart
from its injected clock (:mod:`coworks.engine.clock`) and task dispatcher
(:mod:`coworks.engine.tasks`).
"""

from coworks.engine.clock import Clock, RealClock, VirtualClock
from coworks.engine.interpreter import (
    Checkpoint,
    ExecutionContext,
    ExecutionResult,
    Listener,
    Outcome,
    execute,
    run_execution,
)
from coworks.engine.tasks import (
    Callbacks,
    HandlerDispatcher,
    TaskDispatcher,
    TaskFailure,
    TaskRequest,
)

__all__ = [
    "Callbacks",
    "Checkpoint",
    "Clock",
    "ExecutionContext",
    "ExecutionResult",
    "HandlerDispatcher",
    "Listener",
    "Outcome",
    "RealClock",
    "TaskDispatcher",
    "TaskFailure",
    "TaskRequest",
    "VirtualClock",
    "execute",
    "run_execution",
]

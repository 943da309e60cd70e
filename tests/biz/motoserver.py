"""Run a moto server that executes state machines, for the Step Functions backend tests.

Usage: ``python motoserver.py`` prints ``http://127.0.0.1:PORT`` once the server
listens, and serves until its standard input closes (so it dies with the test run).

Moto 5.2 executes state machines when its ``stepfunctions.execute_state_machine`` option
is on, but its start_execution deep-copies the state machine together with its past
executions, whose threads' locks cannot be copied: the second start fails with a 500.
The copy only needs the definition, so this server copies a state machine without its
executions. The fix lives in this separate process and touches nothing else.

Moto also answers an action it does not implement (``RedriveExecution``) with a bare
HTML 500, which a client cannot tell from a crash; this server answers it with 501 and
a JSON ``NotImplemented`` error instead, as LocalStack does, so that the backend's
answer to an unimplemented operation can be tested.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from typing import Any

import requests
from moto.core.responses import BaseResponse
from moto.server import ThreadedMotoServer
from moto.stepfunctions.models import StateMachine


def _copy_without_executions(self: Any, memo: dict[int, Any]) -> Any:
    clone = object.__new__(type(self))
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        copied = [] if key == "executions" else copy.deepcopy(value, memo)
        setattr(clone, key, copied)
    return clone


def _answering_unimplemented(call_action: Callable[[Any], Any]) -> Any:
    def call(self: Any) -> Any:
        try:
            return call_action(self)
        except NotImplementedError as err:
            body = json.dumps({"__type": "NotImplemented", "message": str(err)})
            return 501, {"Content-Type": "application/x-amz-json-1.0"}, body

    return call


def main() -> None:
    StateMachine.__deepcopy__ = _copy_without_executions  # type: ignore[attr-defined]
    BaseResponse.call_action = _answering_unimplemented(  # type: ignore[method-assign]
        BaseResponse.call_action
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    config = {"stepfunctions": {"execute_state_machine": True}}
    requests.post(f"{url}/moto-api/config", json=config, timeout=10).raise_for_status()
    print(url, flush=True)

    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()

"""The engine's SQLite store: what is committed stays, in order, across reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from coworks.engine.store import ExecutionRecord, StateMachineRecord, Store
from coworks.errors import EngineError

ARN = "arn:aws:states:us-east-1:000000000000:execution:machine:one"
MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:machine"


def machine(name: str = "machine") -> StateMachineRecord:
    return StateMachineRecord(
        arn=f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}",
        name=name,
        type="STANDARD",
        definition='{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}',
        role_arn="arn:aws:iam::000000000000:role/r",
        description="",
        settings={"tags": []},
        created=1.0,
        updated=None,
        revision=1,
    )


def execution(name: str = "one", seq: int = 0) -> ExecutionRecord:
    return ExecutionRecord(
        seq=seq,
        arn=f"arn:aws:states:us-east-1:000000000000:execution:machine:{name}",
        state_machine_arn=MACHINE,
        name=name,
        type="STANDARD",
        status="RUNNING",
        definition="{}",
        role_arn="arn:aws:iam::000000000000:role/r",
        input="{}",
        output=None,
        error=None,
        cause=None,
        start_date=2.0,
        stop_date=None,
        redrive_count=0,
        redrive_date=None,
        checkpoint=None,
        last_event_id=0,
    )


def event(number: int, kind: str = "PassStateEntered") -> dict[str, object]:
    return {"id": number, "previousEventId": number - 1, "timestamp": 3.0, "type": kind}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "engine.db")


def test_a_state_machine_name_is_stored_once(store: Store) -> None:
    assert store.insert_state_machine(machine())
    assert not store.insert_state_machine(machine())

    assert [m.name for m in store.list_state_machines()] == ["machine"]


def test_events_and_checkpoint_survive_reopening_the_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "engine.db")
    store.insert_execution(execution(), [event(1, "ExecutionStarted")])
    store.record(ARN, [event(2), event(3)], {"state": "B", "input": {}})
    store.close()

    reopened = Store(tmp_path / "engine.db")
    record = reopened.get_execution(ARN)

    assert record is not None
    assert record.checkpoint == {"state": "B", "input": {}}
    assert record.last_event_id == 3
    assert [e["id"] for e in reopened.events(ARN)] == [1, 2, 3]
    assert [r.arn for r in reopened.running_executions()] == [ARN]


def test_the_database_file_is_in_wal_mode(store: Store, tmp_path: Path) -> None:
    store.insert_execution(execution(), [])

    assert (tmp_path / "engine.db-wal").exists()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [1, 2, 3, 4, 5]),
        ({"reverse": True}, [5, 4, 3, 2, 1]),
        ({"after_id": 2, "limit": 2}, [3, 4]),
        ({"before_id": 4, "reverse": True}, [3, 2, 1]),
    ],
)
def test_history_pages_follow_event_ids(
    store: Store, options: dict[str, object], expected: list[int]
) -> None:
    store.insert_execution(execution(), [event(n) for n in range(1, 6)])

    assert [e["id"] for e in store.events(ARN, **options)] == expected  # type: ignore[arg-type]


def test_finishing_keeps_the_redrive_checkpoint_and_closes_tokens(store: Store) -> None:
    store.insert_execution(execution(), [])
    store.save_token("token-1", ARN, "Ask")

    assert store.open_tokens(ARN) == {"Ask": "token-1"}

    store.finish(
        ARN,
        [event(1, "ExecutionFailed")],
        status="FAILED",
        stop_date=9.0,
        error="Oops",
        cause="because",
        checkpoint={"state": "Ask", "input": 1},
    )
    record = store.get_execution(ARN)

    assert record is not None
    assert (record.status, record.error, record.stop_date) == ("FAILED", "Oops", 9.0)
    assert record.checkpoint == {"state": "Ask", "input": 1}
    assert store.open_tokens(ARN) == {}
    assert store.token_owner("token-1") == ARN


def test_a_checkpoint_closes_the_tokens_of_the_states_before_it(store: Store) -> None:
    store.insert_execution(execution(), [])
    store.save_token("token-1", ARN, "Ask")

    store.record(ARN, [event(1)], {"state": "Next", "input": None})

    assert store.open_tokens(ARN) == {}


def test_executions_are_listed_newest_first_by_status(store: Store) -> None:
    for number in range(5):
        store.insert_execution(execution(f"e{number}"), [])
    store.finish(execution("e1").arn, [], status="SUCCEEDED", stop_date=1.0)

    newest = store.list_executions(MACHINE, limit=2)
    older = store.list_executions(MACHINE, before_seq=newest[-1].seq, limit=2)
    running = store.list_executions(MACHINE, status="RUNNING")

    assert [r.name for r in newest + older] == ["e4", "e3", "e2", "e1"]
    assert [r.name for r in running] == ["e4", "e3", "e2", "e0"]


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not SQLite " * 100)

    with pytest.raises(EngineError) as caught:
        Store(path)

    assert "notes.txt" in caught.value.message

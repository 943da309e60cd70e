"""Schedules: EventBridge expressions, their firing times, the scheduler and rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from coworks.biz.schedule import (
    Rate,
    ScheduleEntry,
    ScheduleError,
    Scheduler,
    eventbridge_rules,
    parse_schedule,
    schedule_entries,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 8 * * ? *)", utc(2026, 3, 2, 7, 59), utc(2026, 3, 2, 8, 0)),
        ("cron(0 8 * * ? *)", utc(2026, 3, 2, 8, 0), utc(2026, 3, 3, 8, 0)),
        ("cron(*/15 * * * ? *)", utc(2026, 3, 2, 8, 1), utc(2026, 3, 2, 8, 15)),
        ("cron(0 9 ? * MON-FRI *)", utc(2026, 3, 6, 10, 0), utc(2026, 3, 9, 9, 0)),
        ("cron(0 9 ? * 2 *)", utc(2026, 3, 3, 0, 0), utc(2026, 3, 9, 9, 0)),
        ("cron(0 0 L * ? *)", utc(2026, 2, 3, 0, 0), utc(2026, 2, 28, 0, 0)),
        ("cron(0 0 1W * ? *)", utc(2026, 2, 3, 0, 0), utc(2026, 3, 2, 0, 0)),
        ("cron(30 12 ? * 6#3 *)", utc(2026, 3, 1, 0, 0), utc(2026, 3, 20, 12, 30)),
        ("cron(0 0 ? * 6L *)", utc(2026, 3, 1, 0, 0), utc(2026, 3, 27, 0, 0)),
        ("cron(0 0 1 JAN,JUL ? 2027)", utc(2026, 3, 1), utc(2027, 1, 1, 0, 0)),
        ("cron(5,10 1-2 * * ? *)", utc(2026, 3, 1, 1, 7), utc(2026, 3, 1, 1, 10)),
    ],
)
def test_a_cron_expression_fires_at_its_next_matching_minute(
    expression: str, after: datetime, expected: datetime
) -> None:
    assert parse_schedule(expression).next_after(after) == expected


def test_a_cron_expression_for_a_past_year_never_fires() -> None:
    assert parse_schedule("cron(0 0 1 1 ? 2020)").next_after(utc(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
    ],
)
def test_a_rate_expression_gives_its_period(expression: str, seconds: int) -> None:
    rate = parse_schedule(expression)

    assert isinstance(rate, Rate) and rate.seconds == seconds
    start = utc(2026, 1, 1, 0, 0)
    assert rate.anchored(start).next_after(start) == start + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("every 5 minutes", "neither rate(...) nor cron(...)"),
        ("rate(5 minute)", "'rate(5 minutes)'"),
        ("rate(1 minutes)", "'rate(1 minute)'"),
        ("rate(5 weeks)", "minute(s), hour(s) or day(s)"),
        ("rate(0 minutes)", "positive"),
        ("cron(0 8 * * *)", "six"),
        ("cron(0 8 * * MON *)", "exactly one"),
        ("cron(61 8 * * ? *)", "bad minutes field '61'"),
        ("cron(0 8 ? FOO MON *)", "bad month field 'FOO'"),
        ("cron(0 8 ? * 5-2 *)", "runs backwards"),
    ],
)
def test_a_bad_expression_is_refused_with_the_fix(expression: str, hint: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(expression)

    assert expression in str(caught.value) and hint in str(caught.value)


def test_declared_schedules_carry_their_input() -> None:
    entries = schedule_entries(
        "report", [{"expression": "rate(1 hour)", "input": {"k": 1}}, "rate(1 day)"]
    )

    assert [(e.expression, e.input) for e in entries] == [
        ("rate(1 hour)", {"k": 1}),
        ("rate(1 day)", None),
    ]


def test_a_declared_schedule_needs_an_expression() -> None:
    with pytest.raises(ScheduleError, match="workflow 'report' has no expression"):
        schedule_entries("report", [{"input": {}}])


class FakeClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def test_the_scheduler_fires_each_due_time_once_with_the_input() -> None:
    clock = FakeClock(utc(2026, 1, 1, 0, 0, 30))
    fired: list[tuple[str, datetime, object]] = []
    entries = schedule_entries(
        "report",
        [
            {"expression": "rate(5 minutes)", "input": {"kind": "rate"}},
            {"expression": "cron(0 * * * ? *)", "input": {"kind": "cron"}},
        ],
    )
    scheduler = Scheduler(
        entries, lambda e, when: fired.append((e.workflow, when, e.input)), now=clock
    )

    assert scheduler.tick() == []
    clock.moment = utc(2026, 1, 1, 0, 11)
    scheduler.tick()
    scheduler.tick()

    assert fired == [
        ("report", utc(2026, 1, 1, 0, 5, 30), {"kind": "rate"}),
        ("report", utc(2026, 1, 1, 0, 10, 30), {"kind": "rate"}),
    ]
    assert scheduler.next_due() == utc(2026, 1, 1, 0, 15, 30)
    clock.moment = utc(2026, 1, 1, 1, 0)
    scheduler.tick()
    assert fired[-1] == ("report", utc(2026, 1, 1, 1, 0), {"kind": "cron"})


def test_a_failing_start_does_not_stop_the_schedule() -> None:
    clock = FakeClock(utc(2026, 1, 1))
    calls: list[datetime] = []

    def starter(entry: ScheduleEntry, when: datetime) -> None:
        calls.append(when)
        raise RuntimeError("backend down")

    scheduler = Scheduler(schedule_entries("w", ["rate(1 minute)"]), starter, now=clock)
    clock.moment = utc(2026, 1, 1, 0, 2)

    scheduler.tick()

    assert calls == [utc(2026, 1, 1, 0, 1), utc(2026, 1, 1, 0, 2)]


def test_schedules_become_eventbridge_rules_targeting_the_state_machine() -> None:
    entries = schedule_entries(
        "daily-report", [{"expression": "cron(0 8 * * ? *)", "input": {"a": 1}}]
    ) + schedule_entries("sync", ["rate(5 minutes)"])

    rules = eventbridge_rules(
        entries,
        state_machine_arn=lambda name: (
            f"arn:aws:states:eu-west-1:1:stateMachine:{name}"
        ),
        role_arn="arn:aws:iam::1:role/events",
        prefix="shop-dev-",
    )

    assert list(rules) == ["DailyReportSchedule1", "SyncSchedule1"]
    daily = rules["DailyReportSchedule1"]
    assert daily["Type"] == "AWS::Events::Rule"
    properties = daily["Properties"]
    assert properties["ScheduleExpression"] == "cron(0 8 * * ? *)"
    assert properties["Name"] == "shop-dev-daily-report-schedule-1"
    (target,) = properties["Targets"]
    assert target["Arn"].endswith(":stateMachine:daily-report")
    assert target["RoleArn"] == "arn:aws:iam::1:role/events"
    assert json.loads(target["Input"]) == {"a": 1}
    assert json.loads(rules["SyncSchedule1"]["Properties"]["Targets"][0]["Input"]) == {}

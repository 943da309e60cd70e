"""Schedules of workflows: EventBridge ``rate()`` and ``cron()`` expressions.

A workflow declares when it starts by itself::

    schedules:
      - expression: rate(5 minutes)
        input: {report: daily}
      - expression: cron(0 8 ? * MON-FRI *)

Locally, ``cws run`` fires them with a :class:`Scheduler` (its clock is injectable, so
tests jump in time); on AWS, deploy turns each into an EventBridge rule whose target is
the workflow's state machine (:func:`eventbridge_rules`). The expressions follow
EventBridge's syntax, checked the same way here: six cron fields (minutes, hours,
day-of-month, month, day-of-week, year), one of the two day fields ``?``, in UTC.
"""

from __future__ import annotations

import calendar
import dataclasses
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from coworks.errors import ConfigError

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")

_UNITS = {"minute": 60, "hour": 3600, "day": 86400}

_MONTH_NAMES: tuple[str, ...] = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN")
_MONTH_NAMES += ("JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {name: index for index, name in enumerate(_MONTH_NAMES, 1)}
#: EventBridge numbers days of the week from 1 (Sunday) to 7 (Saturday).
_DAYS = {
    name: index
    for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)
}

#: The furthest a cron expression is searched for its next time.
_HORIZON_DAYS = 366 * 5


class ScheduleError(ConfigError):
    """A schedule expression is not valid EventBridge syntax."""


class Schedule:
    """A parsed schedule expression; :meth:`next_after` gives its firing times."""

    expression: str

    def next_after(self, moment: datetime) -> datetime | None:
        """Return the first firing time strictly after ``moment`` (UTC aware)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Rate(Schedule):
    """``rate(N unit)``: every ``seconds``, counted from ``anchor``."""

    expression: str
    seconds: int
    anchor: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    def anchored(self, anchor: datetime) -> Rate:
        """Return the same rate counted from ``anchor`` (when the schedule was set)."""
        return Rate(self.expression, self.seconds, anchor)

    def next_after(self, moment: datetime) -> datetime:
        elapsed = (moment - self.anchor).total_seconds()
        periods = int(elapsed // self.seconds) + 1 if elapsed >= 0 else 0
        return self.anchor + timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True)
class _Field:
    """One cron field: the allowed values, and the special day rules if any."""

    values: frozenset[int]
    last: bool = False  # ``L`` in day-of-month
    weekday_near: int | None = None  # ``15W``
    nth_weekday: tuple[int, int] | None = None  # ``6#3``: third Friday
    last_weekday: int | None = None  # ``6L``: last Friday
    any: bool = False  # ``?`` or ``*``


@dataclass(frozen=True)
class Cron(Schedule):
    """``cron(minutes hours day-of-month month day-of-week year)`` in UTC."""

    expression: str
    minutes: _Field = field(repr=False)
    hours: _Field = field(repr=False)
    days: _Field = field(repr=False)
    months: _Field = field(repr=False)
    weekdays: _Field = field(repr=False)
    years: _Field = field(repr=False)

    def next_after(self, moment: datetime) -> datetime | None:
        start = moment.astimezone(UTC).replace(second=0, microsecond=0)
        start += timedelta(minutes=1)
        day = start.date()
        for _ in range(_HORIZON_DAYS):
            if self._day_matches(day.year, day.month, day.day):
                first = start if day == start.date() else None
                for hour in sorted(self.hours.values):
                    if first and hour < first.hour:
                        continue
                    for minute in sorted(self.minutes.values):
                        if first and hour == first.hour and minute < first.minute:
                            continue
                        return datetime(
                            day.year, day.month, day.day, hour, minute, tzinfo=UTC
                        )
            day += timedelta(days=1)

        return None

    def _day_matches(self, year: int, month: int, day: int) -> bool:
        if year not in self.years.values or month not in self.months.values:
            return False
        if not self.days.any:
            return _day_of_month_matches(self.days, year, month, day)
        return _day_of_week_matches(self.weekdays, year, month, day)


def _day_of_month_matches(rule: _Field, year: int, month: int, day: int) -> bool:
    length = calendar.monthrange(year, month)[1]
    if rule.last:
        return day == length
    if rule.weekday_near is not None:
        return day == _nearest_weekday(year, month, rule.weekday_near)
    return day in rule.values


def _day_of_week_matches(rule: _Field, year: int, month: int, day: int) -> bool:
    weekday = (calendar.weekday(year, month, day) + 1) % 7 + 1  # Sunday = 1
    length = calendar.monthrange(year, month)[1]
    if rule.nth_weekday is not None:
        wanted, nth = rule.nth_weekday
        return weekday == wanted and (day - 1) // 7 + 1 == nth
    if rule.last_weekday is not None:
        return weekday == rule.last_weekday and day + 7 > length
    return weekday in rule.values


def _nearest_weekday(year: int, month: int, day: int) -> int:
    """Return the weekday (Mon-Fri) nearest ``day`` in the same month (``W``)."""
    length = calendar.monthrange(year, month)[1]
    day = min(day, length)
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    if weekday == 5:
        return day - 1 if day > 1 else day + 2
    if weekday == 6:
        return day + 1 if day < length else day - 2
    return day


def parse_schedule(expression: str) -> Schedule:
    """Parse an EventBridge schedule expression.

    Args:
        expression: ``rate(5 minutes)``, ``cron(0 8 ? * MON-FRI *)``...

    Returns:
        A :class:`Rate` (anchored at the epoch; see :meth:`Rate.anchored`) or a
        :class:`Cron`.

    Raises:
        ScheduleError: the expression is not valid, with what to write instead.
    """
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        return _parse_rate(expression, int(rate.group(1)), rate.group(2))
    cron = _CRON.match(text)
    if cron:
        return _parse_cron(expression, cron.group(1).split())
    raise ScheduleError(
        f"The schedule {expression!r} is neither rate(...) nor cron(...): write "
        "'rate(5 minutes)' or 'cron(0 8 * * ? *)' as EventBridge does."
    )


def _parse_rate(expression: str, value: int, unit: str) -> Rate:
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _UNITS:
        raise ScheduleError(
            f"The schedule {expression!r} has the unit {unit!r}; use minute(s), "
            "hour(s) or day(s)."
        )
    if value <= 0:
        raise ScheduleError(
            f"The schedule {expression!r} has a rate of {value}; use a positive number."
        )
    expected = singular if value == 1 else singular + "s"
    if unit != expected:
        raise ScheduleError(
            f"The schedule {expression!r} says {unit!r} for {value}; EventBridge wants "
            f"'rate({value} {expected})'."
        )

    return Rate(expression, value * _UNITS[singular])


def _parse_cron(expression: str, parts: list[str]) -> Cron:
    if len(parts) != 6:
        raise ScheduleError(
            f"The schedule {expression!r} has {len(parts)} cron fields; EventBridge "
            "wants six: minutes hours day-of-month month day-of-week year, e.g. "
            "'cron(0 8 * * ? *)'."
        )
    minutes, hours, days, months, weekdays, years = parts
    if (days == "?") == (weekdays == "?"):
        raise ScheduleError(
            f"The schedule {expression!r} must have '?' in exactly one of "
            "day-of-month and day-of-week, e.g. 'cron(0 8 * * ? *)' or "
            "'cron(0 8 ? * MON *)'."
        )

    def parse(
        text: str, name: str, low: int, high: int, names: Mapping[str, int]
    ) -> _Field:
        try:
            return _parse_field(text, low, high, names, name)
        except ValueError as err:
            raise ScheduleError(
                f"The schedule {expression!r} has a bad {name} field {text!r}: {err}."
            ) from None

    return Cron(
        expression,
        parse(minutes, "minutes", 0, 59, {}),
        parse(hours, "hours", 0, 23, {}),
        parse(days, "day-of-month", 1, 31, {}),
        parse(months, "month", 1, 12, _MONTHS),
        parse(weekdays, "day-of-week", 1, 7, _DAYS),
        parse(years, "year", 1970, 2199, {}),
    )


def _parse_field(
    text: str, low: int, high: int, names: Mapping[str, int], name: str
) -> _Field:
    """Parse one cron field into the set of values it allows."""
    upper = text.upper()
    if upper in ("*", "?"):
        return _Field(frozenset(range(low, high + 1)), any=True)
    if name == "day-of-month":
        if upper == "L":
            return _Field(frozenset(), last=True)
        if upper.endswith("W"):
            return _Field(frozenset(), weekday_near=_number(upper[:-1], 1, 31, {}))
    if name == "day-of-week":
        if "#" in upper:
            day, _, nth = upper.partition("#")
            return _Field(
                frozenset(),
                nth_weekday=(_number(day, 1, 7, names), _number(nth, 1, 5, {})),
            )
        if upper.endswith("L") and len(upper) > 1:
            return _Field(frozenset(), last_weekday=_number(upper[:-1], 1, 7, names))

    values: set[int] = set()
    for part in upper.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, 1, high, {}) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = (
                _number(start, low, high, names),
                _number(end, low, high, names),
            )
        else:
            first = _number(base, low, high, names)
            last = high if step_text else first
        if first > last:
            raise ValueError(f"the range {part!r} runs backwards")
        values.update(range(first, last + 1, step))

    return _Field(frozenset(values))


def _number(text: str, low: int, high: int, names: Mapping[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a number between {low} and {high}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


@dataclass(frozen=True)
class ScheduleEntry:
    """A workflow's schedule: its expression and the input of each execution."""

    workflow: str
    schedule: Schedule
    input: Any = None
    #: The position of the schedule in its workflow's list.
    index: int = 0

    @property
    def expression(self) -> str:
        """The schedule expression as written."""
        return self.schedule.expression


def schedule_entries(
    workflow: str, declared: Iterable[Mapping[str, Any]]
) -> list[ScheduleEntry]:
    """Return the schedules a workflow declares, parsed.

    Args:
        workflow: the workflow's name.
        declared: its ``schedules`` list: ``{"expression": ..., "input": ...}`` items
            (a bare string is an expression with no input).

    Returns:
        One entry per schedule.

    Raises:
        ScheduleError: an expression is invalid or an item has no expression.
    """
    entries = []
    for index, item in enumerate(declared):
        spec: Mapping[str, Any] = (
            {"expression": item} if isinstance(item, str) else item
        )
        expression = spec.get("expression")
        if not isinstance(expression, str):
            raise ScheduleError(
                f"The schedule {index} of the workflow '{workflow}' has no expression; "
                "write 'expression: rate(5 minutes)'."
            )
        entries.append(
            ScheduleEntry(
                workflow, parse_schedule(expression), spec.get("input"), index
            )
        )

    return entries


Starter = Callable[[ScheduleEntry, datetime], None]


class Scheduler:
    """Fires workflow schedules on time, against an injectable clock.

    :meth:`tick` starts every execution due at a given time, and is all tests need;
    :meth:`start` runs ticks in a thread, sleeping until the next due time.

    Args:
        entries: the schedules to fire.
        starter: called with the entry and its firing time for each firing; it starts
            the execution (errors are logged and the schedule carries on).
        now: the clock, returning UTC-aware datetimes.
    """

    def __init__(
        self,
        entries: Iterable[ScheduleEntry],
        starter: Starter,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.now = now
        self.starter = starter
        self._lock = threading.Lock()
        self._due: list[tuple[ScheduleEntry, datetime | None]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.replace(entries)

    def replace(self, entries: Iterable[ScheduleEntry]) -> None:
        """Fire these schedules from now on instead of the current ones."""
        moment = self.now()
        due = []
        for entry in entries:
            schedule = entry.schedule
            if isinstance(schedule, Rate):
                entry = dataclasses.replace(entry, schedule=schedule.anchored(moment))
            due.append((entry, entry.schedule.next_after(moment)))
        with self._lock:
            self._due = due
        self._wake.set()

    def next_due(self) -> datetime | None:
        """Return the earliest time a schedule fires next."""
        with self._lock:
            times = [when for _, when in self._due if when is not None]
        return min(times, default=None)

    def tick(
        self, moment: datetime | None = None
    ) -> list[tuple[ScheduleEntry, datetime]]:
        """Fire every schedule due at ``moment`` (default: now), once per missed time.

        Returns:
            The (entry, firing time) pairs fired, in time order.
        """
        moment = moment or self.now()
        fired: list[tuple[ScheduleEntry, datetime]] = []
        with self._lock:
            due = []
            for entry, when in self._due:
                while when is not None and when <= moment:
                    fired.append((entry, when))
                    when = entry.schedule.next_after(when)
                due.append((entry, when))
            self._due = due

        fired.sort(key=lambda pair: pair[1])
        for entry, when in fired:
            try:
                self.starter(entry, when)
            except Exception:
                logger.exception(
                    "The schedule %s of %s failed to start.",
                    entry.expression,
                    entry.workflow,
                )

        return fired

    def start(self) -> None:
        """Run :meth:`tick` in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(
            target=self._loop, name="coworks-scheduler", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            upcoming = self.next_due()
            delay = (
                60.0 if upcoming is None else (upcoming - self.now()).total_seconds()
            )
            self._wake.clear()
            self._wake.wait(min(max(delay, 0.05), 60.0))

    def stop(self) -> None:
        """Stop the thread started by :meth:`start`."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def eventbridge_rules(
    entries: Iterable[ScheduleEntry],
    *,
    state_machine_arn: Callable[[str], str],
    role_arn: str,
    prefix: str = "",
) -> dict[str, dict[str, Any]]:
    """Return the CloudFormation ``AWS::Events::Rule`` resources of schedules.

    Each schedule becomes one rule whose target starts the workflow's state machine
    with the schedule's input (``{}`` when none), as deploy installs them.

    Args:
        entries: the schedules, e.g. from :func:`schedule_entries`.
        state_machine_arn: the ARN (or a CloudFormation reference) of a workflow's
            state machine, by workflow name.
        role_arn: the role EventBridge assumes to call ``states:StartExecution``.
        prefix: prepended to each rule's name (the project and stage).

    Returns:
        Logical id -> resource definition, in a stable order.
    """
    resources: dict[str, dict[str, Any]] = {}
    counters: dict[str, int] = {}
    for entry in entries:
        counters[entry.workflow] = counters.get(entry.workflow, 0) + 1
        number = counters[entry.workflow]
        camel = "".join(
            part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", entry.workflow)
        )
        logical_id = f"{camel}Schedule{number}"
        resources[logical_id] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": f"{prefix}{entry.workflow}-schedule-{number}"[:64],
                "Description": f"Starts the workflow {entry.workflow} on "
                f"{entry.expression}.",
                "ScheduleExpression": entry.expression,
                "State": "ENABLED",
                "Targets": [
                    {
                        "Id": f"{entry.workflow}-{number}"[:64],
                        "Arn": state_machine_arn(entry.workflow),
                        "RoleArn": role_arn,
                        "Input": json.dumps({} if entry.input is None else entry.input),
                    }
                ],
            },
        }

    return resources

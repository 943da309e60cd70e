"""Choice rules: AWS's operators, its timestamp format and missing paths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from coworks.engine.choice import compile_rule, parse_timestamp
from coworks.engine.errors import StatesError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-03-14T01:59:00Z", dt.datetime(2016, 3, 14, 1, 59, tzinfo=dt.UTC)),
        ("2016-03-14t01:59z", dt.datetime(2016, 3, 14, 1, 59, tzinfo=dt.UTC)),
        ("2016-03-14T01:59:00.5+01:00",
         dt.datetime(2016, 3, 14, 0, 59, 0, 500000, tzinfo=dt.UTC)),
        ("2016-03-14T01:59:00-01:30",
         dt.datetime(2016, 3, 14, 3, 29, tzinfo=dt.UTC)),
        ("2016-03-14T01:59:00+01:00:30",
         dt.datetime(2016, 3, 14, 0, 58, 30, tzinfo=dt.UTC)),
        ("2016-03-14T01:59:00-0130", None),
        ("2016-03-14T01:59:00+01", None),
        ("2016-03-14T01:59:00+18:30", None),
        ("2016-12-05 21:29:29Z", None),
        ("2016-12-05T21:29:29", None),
        ("2016-12-05T25:29:29Z", None),
        ("2016-02-30T00:00:00Z", None),
        (1457920740, None),
    ],
)  # fmt: skip
def test_timestamps_parse_as_aws_reads_them(text: Any, expected: Any) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"StringMatches": "log-*.txt"}, "log-2024.txt", True),
        ({"StringMatches": "a\\*b"}, "a*b", True),
        ({"StringMatches": "a\\*b"}, "axb", False),
        ({"NumericEquals": 1}, 1.0, True),
        ({"NumericEquals": 1}, True, False),
        ({"StringEquals": "1"}, 1, False),
        ({"BooleanEquals": False}, 0, False),
        ({"TimestampLessThan": "2016-03-14T01:59:00.000000002Z"},
         "2016-03-14T01:59:00.000000001Z", True),
        ({"TimestampEquals": "2016-03-14T02:59:00+01:00"},
         "2016-03-14T01:59:00Z", True),
        ({"IsTimestamp": True}, "2016-03-14T01:59:00Z", True),
        ({"IsNumeric": False}, "3", True),
        # Java orders by UTF-16 code unit: U+FF5E sorts after the surrogate pair
        # of U+1F600, though its code point is smaller.
        ({"StringLessThan": "\uff5e"}, "\U0001f600", True),
        ({"StringGreaterThanEquals": "\U0001f600"}, "\uff5e", True),
        ({"StringLessThan": "b"}, "a", True),
    ],
)  # fmt: skip
def test_comparisons_follow_aws_types(
    rule: dict[str, Any], data: Any, expected: bool
) -> None:
    predicate = compile_rule({"Variable": "$", **rule, "Next": "X"})

    assert predicate(data, {}, {}) is expected


def test_a_path_operand_must_exist() -> None:
    predicate = compile_rule(
        {"Variable": "$.a", "NumericLessThanPath": "$.b", "Next": "X"}
    )

    with pytest.raises(StatesError, match=r"Invalid path '\$\.b'"):
        predicate({"a": 1}, {}, {})


def test_an_unknown_operator_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="unknown operator 'NumericAbout'"):
        compile_rule({"Variable": "$", "NumericAbout": 1, "Next": "X"})

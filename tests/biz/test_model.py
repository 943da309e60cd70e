"""Tests of the DSL vocabulary: its ASL names come from aslspec and stay in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from coworks.biz import aslspec
from coworks.biz.model import FIELD_ORDER, OPERATORS, pascal, snake

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "workflow.schema.json"

#: ASL fields the DSL writes through a state's kind key or ``goto``, not by name.
WRITTEN_BY_KIND = {"Branches", "ItemProcessor", "Iterator", "Next"}


@pytest.mark.parametrize("name", sorted(aslspec.ALL_FIELDS))
def test_every_asl_field_has_a_dsl_spelling_that_compiles_back(name: str) -> None:
    assert pascal(snake(name)) == name


def test_every_choice_operator_of_aslspec_is_a_dsl_operator() -> None:
    assert set(OPERATORS) == set(aslspec.COMPARISON_OPERATORS)


def test_every_state_field_has_a_place_in_the_compiled_order() -> None:
    assert aslspec.every_state_field() <= set(FIELD_ORDER)


def test_the_workflow_schema_names_every_asl_field_the_dsl_spells() -> None:
    text = SCHEMA.read_text(encoding="utf-8")

    missing = [
        snake(name)
        for name in sorted(aslspec.ALL_FIELDS - WRITTEN_BY_KIND)
        if f'"{snake(name)}"' not in text
    ]

    assert missing == []

"""The Amazon States Language as data: which fields each part of a definition allows.

One table per kind of object (state machine, state of each type, retrier, catcher,
choice rule, Map's processor and reader), split by query language where it matters,
so the linter asks questions ("may a JSONata Pass state hold ``Result``?") instead of
hard-coding them. The values follow what AWS Step Functions accepts when a state machine
is created, which is sometimes looser than the published specification (AWS accepts a
``ToleratedFailurePercentage`` on an inline Map, for instance).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

JSONPATH = "JSONPath"
JSONATA = "JSONata"
QUERY_LANGUAGES = (JSONPATH, JSONATA)

STANDARD = "STANDARD"
EXPRESS = "EXPRESS"
STATE_MACHINE_TYPES = (STANDARD, EXPRESS)

#: AWS refuses state names, and Map labels, longer than these.
MAX_STATE_NAME_LENGTH = 80
MAX_LABEL_LENGTH = 40

#: The largest definition AWS accepts, in bytes of its JSON text (1 MiB).
MAX_DEFINITION_BYTES = 1024 * 1024

#: The largest value AWS takes for seconds, counts and intervals.
MAX_SECONDS = 99999999

#: The largest ``MaxDelaySeconds`` of a retrier (one year and a second, exclusive).
MAX_RETRY_DELAY_SECONDS = 31622400

#: The error name that matches every error; it must stand alone and come last.
ALL_ERRORS = "States.ALL"

#: Error names AWS predefines; others starting with ``States.`` are suspicious.
PREDEFINED_ERRORS = frozenset(
    {
        "States.ALL",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.Http.Socket",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.QueryEvaluationError",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
        "States.BranchFailed",
    }
)

#: Fields of a whole state machine, and of the state machines nested in Parallel
#: branches and Map processors.
TOP_LEVEL_FIELDS = frozenset(
    {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
)
BRANCH_FIELDS = frozenset({"Comment", "StartAt", "States"})
PROCESSOR_FIELDS = frozenset({"Comment", "StartAt", "States", "ProcessorConfig"})

PROCESSOR_CONFIG_FIELDS = frozenset({"Mode", "ExecutionType"})
PROCESSOR_MODES = ("INLINE", "DISTRIBUTED")
PROCESSOR_EXECUTION_TYPES = (STANDARD, EXPRESS)

ITEM_READER_FIELDS = frozenset({"Resource", "Parameters", "Arguments", "ReaderConfig"})
READER_CONFIG_FIELDS = frozenset(
    {
        "InputType",
        "CSVHeaderLocation",
        "CSVHeaders",
        "CSVDelimiter",
        "MaxItems",
        "MaxItemsPath",
        "ManifestType",
    }
)
ITEM_BATCHER_FIELDS = frozenset(
    {
        "BatchInput",
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
    }
)
RESULT_WRITER_FIELDS = frozenset(
    {"Resource", "Parameters", "Arguments", "WriterConfig"}
)
WRITER_CONFIG_FIELDS = frozenset({"OutputType", "Transformation"})

#: Fields holding an object whose own keys are ASL fields, with the fields it allows.
NESTED_FIELDS: dict[str, frozenset[str]] = {
    "ItemReader": ITEM_READER_FIELDS,
    "ReaderConfig": READER_CONFIG_FIELDS,
    "ItemBatcher": ITEM_BATCHER_FIELDS,
    "ResultWriter": RESULT_WRITER_FIELDS,
    "WriterConfig": WRITER_CONFIG_FIELDS,
}

#: Map fields that only mean something to a distributed Map. AWS accepts them on an
#: inline Map (and ignores them), so the linter only warns.
DISTRIBUTED_ONLY_FIELDS = frozenset(
    {
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "Label",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
    }
)

CREDENTIALS_FIELDS = frozenset({"RoleArn", "RoleArn.$"})


@dataclass(frozen=True)
class FieldSet:
    """The fields an object allows: in both languages, in JSONPath only, JSONata only.

    Args:
        both: fields allowed whatever the query language.
        jsonpath: fields allowed only when the object is evaluated as JSONPath.
        jsonata: fields allowed only when the object is evaluated as JSONata.
        required: fields that must be present.
    """

    both: frozenset[str]
    jsonpath: frozenset[str] = frozenset()
    jsonata: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()

    def allowed(self, query_language: str) -> frozenset[str]:
        """Return the fields allowed in ``query_language``."""
        own = self.jsonata if query_language == JSONATA else self.jsonpath
        return self.both | own

    def other_language(self, query_language: str) -> frozenset[str]:
        """Return the fields that only the other query language allows."""
        return self.jsonpath if query_language == JSONATA else self.jsonata

    def every(self) -> frozenset[str]:
        """Return every field known in either language (for "did you mean")."""
        return self.both | self.jsonpath | self.jsonata


_BASE = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = frozenset({"Next", "End", "Assign"})
_IO = frozenset({"InputPath", "OutputPath"})
_RESULT = frozenset({"ResultPath", "Parameters", "ResultSelector"})
_ERRORS = frozenset({"Retry", "Catch"})

#: How long a Wait state waits, and what a Fail state reports: each as a value, or in
#: JSONPath as a path to one (the ``...Path`` fields).
WAIT_FIELDS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")
FAIL_FIELDS = ("Error", "ErrorPath", "Cause", "CausePath")
_WAIT_PATHS = frozenset(field for field in WAIT_FIELDS if field.endswith("Path"))
_FAIL_PATHS = frozenset(field for field in FAIL_FIELDS if field.endswith("Path"))

#: State type -> its fields. A Choice state transitions through its rules, so it has
#: ``Default`` instead of ``Next``/``End``; Succeed and Fail end the execution.
STATE_FIELDS: dict[str, FieldSet] = {
    "Pass": FieldSet(
        both=_BASE | _FLOW,
        jsonpath=_IO | {"ResultPath", "Parameters", "Result"},
        jsonata=frozenset({"Output"}),
    ),
    "Task": FieldSet(
        both=_BASE
        | _FLOW
        | _ERRORS
        | {"Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
        jsonpath=_IO | _RESULT | {"TimeoutSecondsPath", "HeartbeatSecondsPath"},
        jsonata=frozenset({"Arguments", "Output"}),
        required=frozenset({"Resource"}),
    ),
    "Choice": FieldSet(
        both=_BASE | {"Choices", "Default", "Assign"},
        jsonpath=_IO,
        jsonata=frozenset({"Output"}),
        required=frozenset({"Choices"}),
    ),
    "Wait": FieldSet(
        both=_BASE | _FLOW | (frozenset(WAIT_FIELDS) - _WAIT_PATHS),
        jsonpath=_IO | _WAIT_PATHS,
        jsonata=frozenset({"Output"}),
    ),
    "Succeed": FieldSet(
        both=_BASE,
        jsonpath=_IO,
        jsonata=frozenset({"Output"}),
    ),
    "Fail": FieldSet(
        both=_BASE | (frozenset(FAIL_FIELDS) - _FAIL_PATHS),
        jsonpath=_FAIL_PATHS,
    ),
    "Parallel": FieldSet(
        both=_BASE | _FLOW | _ERRORS | {"Branches"},
        jsonpath=_IO | _RESULT,
        jsonata=frozenset({"Arguments", "Output"}),
        required=frozenset({"Branches"}),
    ),
    "Map": FieldSet(
        both=_BASE
        | _FLOW
        | _ERRORS
        | {
            "Iterator",
            "ItemProcessor",
            "ItemReader",
            "ItemSelector",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Label",
        },
        jsonpath=_IO
        | _RESULT
        | {
            "ItemsPath",
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
        },
        jsonata=frozenset({"Items", "Output"}),
    ),
}

STATE_TYPES = tuple(STATE_FIELDS)

#: States that move on with ``Next`` or stop with ``End``; the others end the
#: execution (Succeed, Fail) or move on through their rules (Choice).
FLOW_STATE_TYPES = frozenset({"Pass", "Task", "Wait", "Parallel", "Map"})

RETRIER_FIELDS = FieldSet(
    both=frozenset(
        {
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        }
    ),
    required=frozenset({"ErrorEquals"}),
)
JITTER_STRATEGIES = ("FULL", "NONE")

CATCHER_FIELDS = FieldSet(
    both=frozenset({"ErrorEquals", "Next", "Assign", "Comment"}),
    jsonpath=frozenset({"ResultPath"}),
    jsonata=frozenset({"Output"}),
    required=frozenset({"ErrorEquals", "Next"}),
)

#: Fields a top-level Choice rule may hold besides its comparison.
CHOICE_RULE_FIELDS = FieldSet(
    both=frozenset({"Next", "Comment", "Assign"}),
    jsonata=frozenset({"Condition", "Output"}),
    required=frozenset({"Next"}),
)

#: Comparison operator -> the kind of value it compares against. A ``...Path`` variant
#: takes a reference path instead.
COMPARISON_OPERATORS: dict[str, str] = {
    "StringEquals": "string",
    "StringLessThan": "string",
    "StringGreaterThan": "string",
    "StringLessThanEquals": "string",
    "StringGreaterThanEquals": "string",
    "StringMatches": "string",
    "NumericEquals": "number",
    "NumericLessThan": "number",
    "NumericGreaterThan": "number",
    "NumericLessThanEquals": "number",
    "NumericGreaterThanEquals": "number",
    "BooleanEquals": "boolean",
    "TimestampEquals": "timestamp",
    "TimestampLessThan": "timestamp",
    "TimestampGreaterThan": "timestamp",
    "TimestampLessThanEquals": "timestamp",
    "TimestampGreaterThanEquals": "timestamp",
    "IsNull": "boolean",
    "IsPresent": "boolean",
    "IsNumeric": "boolean",
    "IsString": "boolean",
    "IsBoolean": "boolean",
    "IsTimestamp": "boolean",
}
for _name, _kind in list(COMPARISON_OPERATORS.items()):
    if not _name.startswith(("Is", "StringMatches")):
        COMPARISON_OPERATORS[_name + "Path"] = "path"

BOOLEAN_OPERATORS = ("And", "Or", "Not")

#: The fields of a JSONPath choice rule that a comparison may hold.
COMPARISON_FIELDS = frozenset({"Variable", *COMPARISON_OPERATORS, *BOOLEAN_OPERATORS})


def every_state_field() -> frozenset[str]:
    """Return every field any state type allows (for "did you mean")."""
    fields: frozenset[str] = frozenset()
    for spec in STATE_FIELDS.values():
        fields |= spec.every()
    return fields


#: Every field name of ASL's own objects: state machines, states, retriers, catchers,
#: choice rules and comparisons, Map processors, readers, batchers and writers. The
#: content of payload fields (``Parameters``, ``Credentials``, ...) is the user's.
ALL_FIELDS: frozenset[str] = frozenset().union(
    TOP_LEVEL_FIELDS,
    PROCESSOR_FIELDS,
    PROCESSOR_CONFIG_FIELDS,
    every_state_field(),
    RETRIER_FIELDS.every(),
    CATCHER_FIELDS.every(),
    CHOICE_RULE_FIELDS.every(),
    COMPARISON_FIELDS,
    *NESTED_FIELDS.values(),
)


def every_state(definition: Any) -> Iterator[tuple[str, Any]]:
    """Yield every state of a definition as ``(name, state)``, nested ones included.

    States come in the order they are written, each followed by the states of its
    Parallel branches and of its Map processor (``ItemProcessor`` or ``Iterator``).
    Whatever is not shaped like a state machine is passed over.

    Args:
        definition: an ASL definition, or a branch or processor of one.

    Yields:
        Each state's name and value (the value as written, object or not).
    """
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return

    for name, state in states.items():
        yield str(name), state
        if not isinstance(state, dict):
            continue
        branches = state.get("Branches")
        for branch in branches if isinstance(branches, list) else []:
            yield from every_state(branch)
        for field in ("ItemProcessor", "Iterator"):
            yield from every_state(state.get(field))

"""Drawings of a state machine: Graphviz DOT, Mermaid, and SVG laid out here.

:func:`build_graph` turns an ASL definition into a :class:`Scope` tree: states are
nodes, transitions are edges (choice rules labelled with their condition, ``Default``
and catchers labelled too), and each Parallel branch or Map item processor is a nested
scope drawn as a box inside its state. :func:`to_dot`, :func:`to_mermaid` and
:func:`to_svg` render that tree; the SVG needs no Graphviz: scopes are laid out in
layers from top to bottom, each state on the row after the longest path leading to it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from coworks.asl.jsonata import expression_of

logger = logging.getLogger(__name__)

__all__ = [
    "FORMATS",
    "Edge",
    "Node",
    "Scope",
    "build_graph",
    "render",
    "to_dot",
    "to_mermaid",
    "to_svg",
]

FORMATS = ("svg", "dot", "mermaid")

#: Longest edge label drawn before it is cut with an ellipsis.
MAX_LABEL = 48

_OPERATORS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
    "Matches": "matches",
}


@dataclass
class Node:
    """One state (or the start and end markers of the whole machine).

    Args:
        id: an identifier safe in DOT, Mermaid and SVG.
        name: the state name shown.
        type: the state's Type, or ``"start"`` / ``"end"`` for the markers.
        scopes: the branches of a Parallel state or the processor of a Map state.
    """

    id: str
    name: str
    type: str
    scopes: list[Scope] = field(default_factory=list)


@dataclass
class Edge:
    """A transition between two nodes of the same scope.

    Args:
        source: the id of the state moved from.
        target: the id of the state moved to.
        label: the condition or errors, empty for a plain ``Next``.
        kind: ``"next"``, ``"choice"``, ``"default"``, ``"catch"`` or ``"branch"``.
    """

    source: str
    target: str
    label: str = ""
    kind: str = "next"


@dataclass
class Scope:
    """One state machine: the whole definition, a Parallel branch or a Map processor.

    Args:
        id: an identifier safe in DOT, Mermaid and SVG.
        label: the caption of the scope's box.
        nodes: the states, in definition order.
        edges: the transitions between them.
        start: the id of the first state, when it exists.
    """

    id: str
    label: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    start: str | None = None

    def walk(self) -> Iterator[Scope]:
        """Yield this scope and every scope nested in it, depth first."""
        yield self
        for node in self.nodes:
            for scope in node.scopes:
                yield from scope.walk()


def build_graph(definition: dict[str, Any], name: str = "state machine") -> Scope:
    """Return the drawing model of an ASL definition.

    The definition should have passed the linter; parts it cannot read (a missing
    ``States``, a target that does not exist) are left out rather than refused.

    Args:
        definition: the ASL definition.
        name: the caption of the outer box.

    Returns:
        The outer scope, holding ``start`` and ``end`` marker nodes.
    """
    builder = _Builder()
    scope = builder.scope(definition, name, top=True)
    logger.debug("graph of %s: %d scopes", name, sum(1 for _ in scope.walk()))

    return scope


class _Builder:
    def __init__(self) -> None:
        self.counter = 0

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def scope(self, machine: Any, label: str, *, top: bool = False) -> Scope:
        scope = Scope(id=self.new_id("cluster_"), label=label)
        states = machine.get("States") if isinstance(machine, dict) else None
        if not isinstance(states, dict):
            states = {}

        ids = {name: self.new_id("s") for name in states}
        for state_name, state in states.items():
            node = Node(ids[state_name], str(state_name), _type(state))
            scope.nodes.append(node)
            node.scopes = self.children(state, state_name)
            for child in node.scopes:
                if child.start is not None:
                    scope_edge = Edge(node.id, child.start, "", "branch")
                    child.edges.insert(0, scope_edge)
            scope.edges.extend(_edges(node.id, state, ids))

        start = machine.get("StartAt") if isinstance(machine, dict) else None
        scope.start = ids.get(start) if isinstance(start, str) else None
        if top:
            begin = Node(self.new_id("start"), "Start", "start")
            end = Node(self.new_id("end"), "End", "end")
            scope.nodes.insert(0, begin)
            if scope.start is not None:
                scope.edges.insert(0, Edge(begin.id, scope.start))
            for state_name, state in states.items():
                if _ends(state):
                    scope.edges.append(Edge(ids[state_name], end.id))
            scope.nodes.append(end)
            scope.start = begin.id

        return scope

    def children(self, state: Any, state_name: str) -> list[Scope]:
        if not isinstance(state, dict):
            return []
        if state.get("Type") == "Parallel" and isinstance(state.get("Branches"), list):
            return [
                self.scope(branch, f"branch {index + 1}")
                for index, branch in enumerate(state["Branches"])
            ]
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor", state.get("Iterator"))
            if isinstance(processor, dict):
                config = processor.get("ProcessorConfig")
                mode = config.get("Mode") if isinstance(config, dict) else None
                label = "each item" + (
                    " (distributed)" if mode == "DISTRIBUTED" else ""
                )
                return [self.scope(processor, label)]

        return []


def _type(state: Any) -> str:
    kind = state.get("Type") if isinstance(state, dict) else None
    return kind if isinstance(kind, str) else "?"


def _ends(state: Any) -> bool:
    if not isinstance(state, dict):
        return False
    return state.get("End") is True or state.get("Type") in ("Succeed", "Fail")


def _edges(source: str, state: Any, ids: dict[str, str]) -> list[Edge]:
    if not isinstance(state, dict):
        return []
    edges: list[Edge] = []

    def add(target: Any, label: str, kind: str) -> None:
        if isinstance(target, str) and target in ids:
            edges.append(Edge(source, ids[target], _shorten(label), kind))

    add(state.get("Next"), "", "next")
    choices = state.get("Choices")
    if isinstance(choices, list):
        for rule in choices:
            if isinstance(rule, dict):
                add(rule.get("Next"), describe_rule(rule), "choice")
    add(state.get("Default"), "default", "default")
    catchers = state.get("Catch")
    if isinstance(catchers, list):
        for catcher in catchers:
            if isinstance(catcher, dict):
                errors = catcher.get("ErrorEquals")
                names = ", ".join(map(str, errors)) if isinstance(errors, list) else ""
                add(catcher.get("Next"), f"catch {names}".strip(), "catch")

    return edges


def describe_rule(rule: dict[str, Any]) -> str:
    """Return a choice rule as a short condition, e.g. ``$.n > 3 and not $.x``.

    Args:
        rule: a JSONPath comparison, an And/Or/Not rule, or a JSONata rule.

    Returns:
        The condition as text (JSONata conditions without their ``{% %}``).
    """
    condition = rule.get("Condition")
    if isinstance(condition, str):
        return expression_of(condition.strip())
    if isinstance(condition, bool):
        return json.dumps(condition)

    for word in ("And", "Or"):
        parts = rule.get(word)
        if isinstance(parts, list):
            inner = [describe_rule(p) for p in parts if isinstance(p, dict)]
            return f" {word.lower()} ".join(f"({text})" for text in inner)
    if isinstance(rule.get("Not"), dict):
        return f"not ({describe_rule(rule['Not'])})"

    variable = rule.get("Variable", "?")
    for key, value in rule.items():
        if key.startswith("Is"):
            test = key[2:].lower()
            return f"{variable} is {'' if value is True else 'not '}{test}"
        for suffix, symbol in _OPERATORS.items():
            base = key[:-4] if key.endswith("Path") else key
            if base.endswith(suffix) and base[: -len(suffix)] in (
                "String",
                "Numeric",
                "Boolean",
                "Timestamp",
            ):
                shown = (
                    value if key.endswith("Path") else json.dumps(value, default=str)
                )
                return f"{variable} {symbol} {shown}"

    return "?"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 3] + "..."


# --------------------------------------------------------------------------- DOT


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


_DOT_SHAPES = {
    "start": "shape=circle, style=filled, fillcolor=black, fontcolor=white, fontsize=9",
    "end": "shape=doublecircle, style=filled, fillcolor=black, fontcolor=white, "
    "fontsize=9",
    "Choice": "shape=diamond, style=filled, fillcolor=lightyellow",
    "Fail": 'shape=box, style="rounded,filled", fillcolor=mistyrose',
    "Succeed": 'shape=box, style="rounded,filled", fillcolor=honeydew',
}
_DOT_EDGES = {
    "default": "style=dashed",
    "catch": "color=red, fontcolor=red, style=dotted",
    "branch": "style=dashed, arrowhead=empty",
}


def to_dot(scope: Scope) -> str:
    """Return the graph as Graphviz DOT text (nested scopes are clusters).

    Args:
        scope: the outer scope from :func:`build_graph`.

    Returns:
        The DOT source, ending with a newline.
    """
    lines = [
        "digraph workflow {",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor=aliceblue, '
        'fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f"  label={_dot_quote(scope.label)};",
    ]
    _dot_scope(scope, lines, "  ")
    lines.append("}")

    return "\n".join(lines) + "\n"


def _dot_scope(scope: Scope, lines: list[str], indent: str) -> None:
    for node in scope.nodes:
        style = _DOT_SHAPES.get(node.type, "")
        label = node.name if node.type in ("start", "end") else _node_label(node)
        attributes = f"label={_dot_quote(label)}" + (f", {style}" if style else "")
        if node.scopes:
            lines.append(f"{indent}subgraph cluster_{node.id} {{")
            lines.append(f"{indent}  label={_dot_quote(node.name)};")
            lines.append(f"{indent}  style=rounded; color=gray40;")
            lines.append(f"{indent}  {node.id} [{attributes}];")
            for child in node.scopes:
                lines.append(f"{indent}  subgraph {child.id} {{")
                lines.append(f"{indent}    label={_dot_quote(child.label)};")
                lines.append(f"{indent}    style=dashed; color=gray60;")
                _dot_scope(child, lines, indent + "    ")
                lines.append(f"{indent}  }}")
            lines.append(f"{indent}}}")
        else:
            lines.append(f"{indent}{node.id} [{attributes}];")
    for edge in scope.edges:
        attributes = _DOT_EDGES.get(edge.kind, "")
        if edge.label:
            label = f"label={_dot_quote(edge.label)}"
            attributes = f"{label}, {attributes}" if attributes else label
        suffix = f" [{attributes}]" if attributes else ""
        lines.append(f"{indent}{edge.source} -> {edge.target}{suffix};")


def _node_label(node: Node) -> str:
    return f"{node.name}\n({node.type})"


# --------------------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    # Mermaid reads text in double quotes; a quote inside is written as an entity.
    return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'


def to_mermaid(scope: Scope) -> str:
    """Return the graph as a Mermaid flowchart (nested scopes are subgraphs).

    Args:
        scope: the outer scope from :func:`build_graph`.

    Returns:
        The Mermaid source, ending with a newline.
    """
    lines = ["flowchart TD"]
    _mermaid_scope(scope, lines, "  ")

    return "\n".join(lines) + "\n"


def _mermaid_node(node: Node) -> str:
    if node.type == "start":
        return f"{node.id}(({_mermaid_text(node.name)}))"
    if node.type == "end":
        return f"{node.id}((({_mermaid_text(node.name)})))"
    label = _mermaid_text(_node_label(node))
    if node.type == "Choice":
        return f"{node.id}{{{label}}}"
    return f"{node.id}({label})"


_MERMAID_ARROWS = {"default": "-.->", "catch": "-.->", "branch": "-.->"}


def _mermaid_scope(scope: Scope, lines: list[str], indent: str) -> None:
    for node in scope.nodes:
        if node.scopes:
            lines.append(
                f"{indent}subgraph cluster_{node.id} [{_mermaid_text(node.name)}]"
            )
            lines.append(f"{indent}  {_mermaid_node(node)}")
            for child in node.scopes:
                lines.append(
                    f"{indent}  subgraph {child.id} [{_mermaid_text(child.label)}]"
                )
                _mermaid_scope(child, lines, indent + "    ")
                lines.append(f"{indent}  end")
            lines.append(f"{indent}end")
        else:
            lines.append(f"{indent}{_mermaid_node(node)}")
    for edge in scope.edges:
        arrow = _MERMAID_ARROWS.get(edge.kind, "-->")
        label = f"|{_mermaid_text(edge.label)}|" if edge.label else ""
        lines.append(f"{indent}{edge.source} {arrow}{label} {edge.target}")


# --------------------------------------------------------------------------- SVG

_CHAR_WIDTH = 7.0
_NODE_HEIGHT = 40.0
_MIN_NODE_WIDTH = 110.0
_MARKER_SIZE = 36.0
_ROW_GAP = 56.0
_COLUMN_GAP = 36.0
_PADDING = 16.0
_HEADER = 26.0
_LANE = 18.0

_FILLS = {
    "Choice": "#fffbe6",
    "Fail": "#fdecec",
    "Succeed": "#ecf8ec",
    "Parallel": "#f4f4fb",
    "Map": "#f4f4fb",
    "start": "#222222",
    "end": "#222222",
}
_STROKES = {"catch": "#c62828", "default": "#555555", "branch": "#777777"}


@dataclass
class _Box:
    """A laid-out scope: its size, its states' places and how its edges run."""

    width: float
    height: float
    # node id -> (x, y, width, height) relative to the box
    places: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    # node id -> laid-out nested scopes: (scope, x, y, box)
    inner: dict[str, list[tuple[Scope, float, float, _Box]]] = field(
        default_factory=dict
    )
    ranks: dict[str, int] = field(default_factory=dict)
    # rank -> (top, bottom) of its row
    rows: dict[int, tuple[float, float]] = field(default_factory=dict)
    # edge index -> x of the vertical lane it runs in (loops back and long jumps)
    lanes: dict[int, float] = field(default_factory=dict)


def _ranks(scope: Scope) -> dict[str, int]:
    """Rank each node by the longest path reaching it, ignoring edges that loop back."""
    order = [node.id for node in scope.nodes]
    outgoing: dict[str, list[str]] = {node: [] for node in order}
    for edge in scope.edges:
        if edge.source in outgoing and edge.target in outgoing:
            outgoing[edge.source].append(edge.target)

    back: set[tuple[str, str]] = set()
    visited: set[str] = set()
    finished: list[str] = []
    roots = ([scope.start] if scope.start in outgoing else []) + order
    for root in roots:
        if root in visited or root is None:
            continue
        # An explicit stack, so a long chain of states cannot exhaust recursion.
        stack: list[tuple[str, int]] = [(root, 0)]
        on_stack = {root}
        visited.add(root)
        while stack:
            current, index = stack[-1]
            if index < len(outgoing[current]):
                stack[-1] = (current, index + 1)
                target = outgoing[current][index]
                if target in on_stack:
                    back.add((current, target))
                elif target not in visited:
                    visited.add(target)
                    on_stack.add(target)
                    stack.append((target, 0))
            else:
                stack.pop()
                on_stack.discard(current)
                finished.append(current)

    ranks = dict.fromkeys(order, 0)
    for node in reversed(finished):
        for target in outgoing[node]:
            if (node, target) not in back:
                ranks[target] = max(ranks[target], ranks[node] + 1)

    return ranks


def _layout(scope: Scope) -> _Box:
    sizes: dict[str, tuple[float, float]] = {}
    inner: dict[str, list[tuple[Scope, float, float, _Box]]] = {}
    for node in scope.nodes:
        sizes[node.id], placed = _node_size(node)
        if placed:
            inner[node.id] = placed

    ranks = _ranks(scope)
    rows: dict[int, list[str]] = {}
    for node in scope.nodes:
        rows.setdefault(ranks[node.id], []).append(node.id)

    # Edges between adjacent rows are drawn straight; the others run in a lane of
    # their own, loops back on the right and long jumps down on the left, so they
    # cross no state.
    back: list[int] = []
    long: list[int] = []
    for index, edge in enumerate(scope.edges):
        if edge.source not in ranks or edge.target not in ranks:
            continue
        step = ranks[edge.target] - ranks[edge.source]
        if step <= 0:
            back.append(index)
        elif step > 1:
            long.append(index)
    left = _LANE * len(long)
    row_widths = {
        rank: sum(sizes[n][0] for n in ids) + _COLUMN_GAP * (len(ids) - 1)
        for rank, ids in rows.items()
    }
    content = max(row_widths.values(), default=_MIN_NODE_WIDTH)
    width = content + 2 * _PADDING + left + _LANE * len(back)
    lanes = {index: _PADDING + _LANE * (n + 0.5) for n, index in enumerate(long)}
    right = _PADDING + left + content + _LANE / 2
    lanes.update({index: right + _LANE * n for n, index in enumerate(back)})

    places: dict[str, tuple[float, float, float, float]] = {}
    row_spans: dict[int, tuple[float, float]] = {}
    y = _PADDING + _HEADER
    for rank in sorted(rows):
        ids = rows[rank]
        x = _PADDING + left + (content - row_widths[rank]) / 2
        height = max(sizes[n][1] for n in ids)
        for node_id in ids:
            node_width, node_height = sizes[node_id]
            places[node_id] = (x, y, node_width, node_height)
            x += node_width + _COLUMN_GAP
        row_spans[rank] = (y, y + height)
        y += height + _ROW_GAP

    height = y - _ROW_GAP + _PADDING
    return _Box(width, height, places, inner, ranks, row_spans, lanes)


def _node_size(
    node: Node,
) -> tuple[tuple[float, float], list[tuple[Scope, float, float, _Box]]]:
    if node.type in ("start", "end"):
        return (_MARKER_SIZE, _MARKER_SIZE), []
    text_width = max(len(node.name), len(node.type) + 2) * _CHAR_WIDTH + 24
    width = max(_MIN_NODE_WIDTH, text_width)
    if not node.scopes:
        return (width, _NODE_HEIGHT), []

    # A composite state: its name on top, then each nested scope side by side.
    placed: list[tuple[Scope, float, float, _Box]] = []
    x = _PADDING
    top = _HEADER + _PADDING
    tallest = 0.0
    for child in node.scopes:
        box = _layout(child)
        placed.append((child, x, top, box))
        x += box.width + _COLUMN_GAP
        tallest = max(tallest, box.height)
    width = max(width, x - _COLUMN_GAP + _PADDING)

    return (width, top + tallest + _PADDING), placed


def to_svg(scope: Scope) -> str:
    """Return the graph as a standalone SVG document, laid out without Graphviz.

    Args:
        scope: the outer scope from :func:`build_graph`.

    Returns:
        The SVG text.
    """
    box = _layout(scope)
    parts: list[str] = []
    _svg_scope(scope, box, 0.0, 0.0, parts, outer=True)
    width = round(box.width, 1)
    height = round(box.height, 1)

    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" '
            'font-family="Helvetica, Arial, sans-serif" font-size="12">',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>',
            f'<rect width="{width}" height="{height}" fill="white"/>',
            *parts,
            "</svg>",
            "",
        ]
    )


def _text(x: float, y: float, text: str, **attributes: str) -> str:
    extra = "".join(
        f' {name.replace("_", "-")}="{value}"' for name, value in attributes.items()
    )
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def _svg_scope(
    scope: Scope,
    box: _Box,
    ox: float,
    oy: float,
    parts: list[str],
    *,
    outer: bool = False,
) -> None:
    dash = "" if outer else ' stroke-dasharray="5,3"'
    parts.append(
        f'<rect x="{ox:.1f}" y="{oy:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="8" fill="none" stroke="#999"{dash}/>'
    )
    parts.append(_text(ox + 8, oy + 17, scope.label, fill="#555", font_style="italic"))

    nodes = {node.id: node for node in scope.nodes}
    for node_id, (x, y, w, h) in box.places.items():
        _svg_node(nodes[node_id], ox + x, oy + y, w, h, box, parts)
    for index, edge in enumerate(scope.edges):
        if edge.source in box.places and edge.target in box.places:
            _svg_edge(edge, box.lanes.get(index), box, ox, oy, parts)


def _svg_node(
    node: Node,
    x: float,
    y: float,
    w: float,
    h: float,
    box: _Box,
    parts: list[str],
) -> None:
    fill = _FILLS.get(node.type, "#eef5fc")
    parts.append(f'<g id="{escape(node.id)}"><title>{escape(node.name)}</title>')
    if node.type in ("start", "end"):
        radius = w / 2
        parts.append(
            f'<circle cx="{x + radius:.1f}" cy="{y + radius:.1f}" r="{radius:.1f}" '
            f'fill="{fill}"/>'
        )
        parts.append(
            _text(
                x + radius,
                y + radius + 4,
                node.name,
                fill="white",
                font_size="10",
                text_anchor="middle",
            )
        )
        parts.append("</g>")
        return

    parts.append(
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
        f'fill="{fill}" stroke="#456"/>'
    )
    if node.scopes:
        parts.append(
            _text(x + 8, y + 17, f"{node.name} ({node.type})", font_weight="bold")
        )
        for child, cx, cy, child_box in box.inner[node.id]:
            _svg_scope(child, child_box, x + cx, y + cy, parts)
    else:
        parts.append(_text(x + w / 2, y + 17, node.name, text_anchor="middle"))
        parts.append(
            _text(
                x + w / 2,
                y + 32,
                node.type,
                text_anchor="middle",
                fill="#667",
                font_size="10",
            )
        )
    parts.append("</g>")


def _svg_edge(
    edge: Edge,
    lane: float | None,
    box: _Box,
    ox: float,
    oy: float,
    parts: list[str],
) -> None:
    sx, sy, sw, sh = box.places[edge.source]
    tx, ty, tw, _ = box.places[edge.target]
    stroke = _STROKES.get(edge.kind, "#444")
    dash = ' stroke-dasharray="4,3"' if edge.kind in ("default", "catch") else ""
    x1, y1 = ox + sx + sw / 2, oy + sy + sh
    x2, y2 = ox + tx + tw / 2, oy + ty

    if lane is None:
        middle = (y1 + y2) / 2
        points = (
            f"M {x1:.1f} {y1:.1f} C {x1:.1f} {middle:.1f} "
            f"{x2:.1f} {middle:.1f} {x2:.1f} {y2:.1f}"
        )
        # The label sits a third of the way along, on the side the edge leans to,
        # so the rules leaving one Choice state fan out instead of piling up.
        t = 0.35
        u = 1 - t
        label_x = (u**3 + 3 * u * u * t) * x1 + (3 * u * t * t + t**3) * x2
        label_y = (u**3) * y1 + (3 * u * u * t + 3 * u * t * t) * middle + t**3 * y2
        anchor = "end" if x2 < x1 else "start"
        label_x += -6 if x2 < x1 else 6
    else:
        # Leave through the gap under the source's row, run down or up the lane,
        # and come in through the gap over the target's row.
        below = oy + box.rows[box.ranks[edge.source]][1] + _ROW_GAP * 0.6
        above = oy + box.rows[box.ranks[edge.target]][0] - _ROW_GAP * 0.2
        x = ox + lane
        points = (
            f"M {x1:.1f} {y1:.1f} L {x1:.1f} {below:.1f} L {x:.1f} {below:.1f} "
            f"L {x:.1f} {above:.1f} L {x2:.1f} {above:.1f} L {x2:.1f} {y2:.1f}"
        )
        label_x, label_y = (x + x2) / 2, above - 3
        anchor = "middle"
    parts.append(
        f'<path d="{points}" fill="none" stroke="{stroke}"{dash} '
        'marker-end="url(#arrow)"/>'
    )
    if edge.label:
        parts.append(
            _text(
                label_x,
                label_y,
                edge.label,
                fill=stroke,
                font_size="10",
                text_anchor=anchor,
                paint_order="stroke",
                stroke="white",
                stroke_width="3",
            )
        )


# --------------------------------------------------------------------------- render

_RENDERERS = {"svg": to_svg, "dot": to_dot, "mermaid": to_mermaid}


def render(definition: dict[str, Any], output_format: str, name: str = "") -> str:
    """Draw a definition in one of :data:`FORMATS`.

    Args:
        definition: the ASL definition.
        output_format: ``"svg"``, ``"dot"`` or ``"mermaid"``.
        name: the caption of the outer box (the workflow or file name).

    Returns:
        The drawing's text.

    Raises:
        ValueError: the format is not one of :data:`FORMATS`.
    """
    renderer = _RENDERERS.get(output_format)
    if renderer is None:
        raise ValueError(
            f"Unknown graph format {output_format!r}: use one of {', '.join(FORMATS)}."
        )

    return renderer(build_graph(definition, name or "state machine"))

"""YAML aliases in case files, bounded (ladder level 7).

An alias repeats an anchored value. A file of 500 bytes whose anchors repeat anchors nine deep
(``&a [*b, *b, ...]``, "billion laughs") stands for 387 million values: building it hung
collection. libyaml composes an alias as a second reference to the anchored node, so the
composed graph stays as small as the text; :func:`check_aliases` counts the expanded size of
every node once (memoized) and refuses the document before anything is built.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode

# The values aliases may add to a case beyond what is written out; more is refused.
MAX_ALIAS_VALUES = 100_000


class AliasExpansionError(ValueError):
    """YAML aliases would repeat more than :data:`MAX_ALIAS_VALUES` values, or a value would
    contain itself; ``line`` is where the repeated (or recursive) value is written."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def check_aliases(root: Node) -> None:
    """Refuse a document whose aliases expand it past :data:`MAX_ALIAS_VALUES` values beyond
    those written out, or make a value that contains itself (one pass over the composed nodes,
    iterative: nesting is bounded by libyaml, not by Python's stack)."""
    sizes: dict[int, int] = {}
    uses: dict[int, Node] = {}  # nodes referenced more than once, by id
    stack: list[tuple[Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()  # the nodes whose children are being counted (ancestors)
    while stack:
        node, counted = stack.pop()
        key = id(node)
        if counted:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            uses[key] = node
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise _recursive(child)
            stack.append((child, False))
    added = sizes[id(root)] - len(sizes)
    if added > MAX_ALIAS_VALUES:
        raise _too_many(added, max(uses.values(), key=lambda n: sizes[id(n)]), sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _recursive(node: Node) -> AliasExpansionError:
    line = node.start_mark.line + 1
    return AliasExpansionError(
        f"the anchored value at line {line} contains an alias to itself, which would make "
        "infinite data. Case data must be finite: write the value out without the alias.",
        line,
    )


def _too_many(added: int, biggest: Node, sizes: dict[int, int]) -> AliasExpansionError:
    line = biggest.start_mark.line + 1
    return AliasExpansionError(
        f"YAML aliases would expand this case by {added:,} values (the value anchored at line "
        f"{line} alone is {sizes[id(biggest)]:,}); a case may repeat at most "
        f"{MAX_ALIAS_VALUES:,} values through aliases. A file like this is an 'alias bomb', "
        "built to exhaust memory: remove the aliases (write the values out), or reuse "
        "fewer, smaller anchors.",
        line,
    )

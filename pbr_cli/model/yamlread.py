"""Read YAML safely into plain values, remembering the line of every key.

Only the standard YAML types are accepted: a `!!python/...` tag or any other custom tag
is refused with its line. Numbers with a decimal point become `Decimal` (never float), so
that `0.95` in a model means exactly 0.95.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

Path = tuple[Any, ...]
# libyaml's parser where PyYAML was built with it: the same nodes and lines in a tenth of the
# time (every command reads a model). Some builds of it recurse without a limit and crash
# the process on a text nested some 30,000 deep; each level of nesting takes one of these
# characters at least (a bracket, an indicator or a line break), so a text with fewer than
# _C_MOST of them is read by libyaml and any other by PyYAML's own parser, which stops.
_C_LOADER = getattr(yaml, "CSafeLoader", None)
_NESTS = "[{-?:\n\r\x85\u2028\u2029"
_C_MOST = 5000

_STANDARD = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class YamlProblem(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def read_yaml(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse `text`; return the data and a map from key path to 1-based line number."""
    try:
        node = yaml.compose(text, Loader=_loader(text))
    except RecursionError:
        raise YamlProblem(0, "nested too deeply (a model is a few levels deep)") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        if "nesting depth" in str(exc.problem):  # libyaml's limit, said as pbr's own
            raise YamlProblem(line, "nested too deeply (a model is a few levels deep)") from None
        raise YamlProblem(line, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(0, f"not valid YAML: {exc}") from None
    lines: dict[Path, int] = {}
    if node is None:
        return None, lines
    try:
        return _value(node, (), lines, set()), lines
    except RecursionError:
        raise YamlProblem(0, "nested too deeply (a model is a few levels deep)") from None


def _loader(text: str) -> Any:
    """libyaml's loader for a text that cannot nest deep enough to crash it."""
    if _C_LOADER is not None and sum(map(text.count, _NESTS)) < _C_MOST:
        return _C_LOADER
    return yaml.SafeLoader


def _value(node: yaml.Node, path: Path, lines: dict[Path, int], seen: set[int]) -> Any:
    line = node.start_mark.line + 1
    if id(node) in seen:
        # An alias (*name) reuses a node: harmless once, a "billion laughs" when nested.
        raise YamlProblem(line, "aliases (*name) are not allowed in a model; write the values out")
    seen.add(id(node))
    lines.setdefault(path, line)
    if node.tag not in _STANDARD:
        raise YamlProblem(line, f"the tag {node.tag} is not allowed in a model")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(key_node.start_mark.line + 1, "a key must be a plain word")
            key = str(key_node.value)
            if key == "<<":
                raise YamlProblem(key_node.start_mark.line + 1, "merge keys (<<) are not allowed")
            if key in out:
                raise YamlProblem(key_node.start_mark.line + 1, f"the key '{key}' appears twice")
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _value(value_node, (*path, key), lines, seen)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, (*path, i), lines, seen) for i, item in enumerate(node.value)]
    return _scalar(node, line)


def _scalar(node: yaml.ScalarNode, line: int) -> Any:
    raw, tag = node.value, node.tag
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return raw.lower() in ("true", "yes", "on")
    if tag == "tag:yaml.org,2002:int":
        try:
            return int(raw.replace("_", ""), 0)
        except ValueError:
            raise YamlProblem(line, f"'{raw}' is not a whole number") from None
    if tag == "tag:yaml.org,2002:float":
        try:
            value = Decimal(raw.replace("_", ""))
        except InvalidOperation:
            raise YamlProblem(line, f"'{raw}' is not a number pbr accepts") from None
        if not value.is_finite():
            raise YamlProblem(line, f"'{raw}' is not a finite number")
        return value
    if tag == "tag:yaml.org,2002:timestamp":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise YamlProblem(line, f"'{raw}' must be a date written YYYY-MM-DD"
                              f"{swapped_hint(raw)}") from None
    return str(raw)


def swapped_hint(raw: str) -> str:
    """" (write 2013-09-30: the month comes before the day)" for a date written with its day
    and month the other way round, else ""."""
    parts = raw.split("-")
    try:
        year, month, day = (int(part) for part in parts)
        if 1 <= month <= 12:
            days = calendar.monthrange(year, month)[1]
            return f" ({calendar.month_name[month]} {year} has {days} days)" if day > days else ""
        return (f" (write {dt.date(year, day, month).isoformat()}: the month comes before the "
                "day)")
    except ValueError:
        return ""

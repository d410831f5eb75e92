"""A checked return: the cover's facts, one table per return sheet (typed values, plus
`_row`, the Excel row), and every Problem found. What the checks make and everything after
them reads; the checks themselves are in checks.py."""

from __future__ import annotations

import pickle
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from pbr_cli.periods import Month
from pbr_cli.problems import FATAL, WARNING, FileStatus, Problem, column_letter


class PackedTables(MutableMapping):
    """A return's tables (sheet name -> DataFrame) as they are pickled: one blob, unpickled
    when a table is first looked at. A cached return, or one a worker process checked,
    whose tables a run does not need (a client-level history reads CheckedReturn.cohort)
    costs nothing to load."""

    def __init__(self, blob: bytes):
        self._blob: bytes | None = blob
        self._tables: dict[str, Any] = {}

    @classmethod
    def of(cls, tables) -> PackedTables:
        if isinstance(tables, PackedTables) and tables._blob is not None:
            return tables
        return cls(pickle.dumps(dict(tables), protocol=pickle.HIGHEST_PROTOCOL))

    def __reduce__(self):
        return (PackedTables, (PackedTables.of(self)._blob,))

    def _open(self) -> dict[str, Any]:
        if self._blob is not None:
            self._tables = pickle.loads(self._blob)  # noqa: S301 - pickled by pbr, as above
            self._blob = None
        return self._tables

    def __getitem__(self, name: str) -> Any:
        return self._open()[name]

    def __setitem__(self, name: str, table: Any) -> None:
        self._open()[name] = table

    def __delitem__(self, name: str) -> None:
        del self._open()[name]

    def __iter__(self):
        return iter(self._open())

    def __len__(self) -> int:
        return len(self._open())


def read_once(tables: Any) -> Any:
    """A return's tables for one reading that keeps nothing: packed ones are unpacked for
    the reader alone and stay packed (a period's signals read every return since the
    scheme started once; kept unpacked, they were 94 MB at the 1× national set)."""
    if isinstance(tables, PackedTables) and tables._blob is not None:
        return pickle.loads(tables._blob)  # noqa: S301 - pickled by pbr, as above
    return tables


class TablesLetGo(MutableMapping):
    """What a return holds in place of its tables once a run that reads only its records
    let them go (`pbr calculate` of a client-level scheme: the history reads
    CheckedReturn.cohort). A look at them is a fault in pbr, said as one, never read as a
    return with no rows."""

    def _fault(self, *_: Any) -> Any:
        raise RuntimeError("a return's tables were let go once its records were kept, "
                           "and something read them")

    __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = _fault


@dataclass
class CheckedReturn:
    path: str
    sha256: str
    provider: str | None
    month: Month | None
    tables: Any  # sheet name -> pandas DataFrame (packed in a worker: PackedTables)
    problems: list[Problem] = field(default_factory=list)
    positions: dict[str, dict[str, int]] = field(default_factory=dict)  # sheet -> column -> index
    # a client-level model's rows as columns (pbr_cli.returns.cohort_records.record_columns), when worked out
    cohort: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if not isinstance(self.tables, TablesLetGo):  # (let go: kept so)
            state["tables"] = PackedTables.of(self.tables)
        return state

    def column_of(self, sheet: str, column: str) -> str | None:
        """The Excel column letter a model column was found in, if it was."""
        j = self.positions.get(sheet, {}).get(column)
        return column_letter(j) if j is not None else None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def status(self) -> FileStatus:
        if any(p.severity == FATAL for p in self.problems):
            return FileStatus.UNUSABLE
        if self.errors:
            return FileStatus.ERRORS
        return FileStatus.WARNINGS if self.warnings else FileStatus.CLEAN

"""Find, read and check the returns a job needs.

Returns are filed by month: RETURNS/YYYY-MM/*.xlsx (any file name; the Cover says whose it
is). Reading and checking are the two stages before calculation; this room runs them over
many files and gathers the results, printing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.problems import FATAL, Problem
from pbr_cli.register import Register
from pbr_cli.returns.checks import CheckedReturn, check_return
from pbr_cli.returns.layout import COVER_SHEET
from pbr_cli.returns.package import UnreadableFile
from pbr_cli.returns.reader import read_workbook

RETURN_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


@dataclass
class Unreadable:
    path: str
    code: str
    message: str

    def problem(self) -> Problem:
        return Problem(file=self.path, severity=FATAL, code=self.code, message=self.message)


@dataclass
class Collection:
    returns: list[CheckedReturn] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


def return_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, plus every return-like file under folders, sorted."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file()
                          and p.suffix.lower() in RETURN_SUFFIXES
                          and not p.name.startswith((".", "~$")))
        else:
            out.append(path)
    return out


_VERSION_RE = re.compile(r"[-_ .]v(\d+)$", re.IGNORECASE)


def resubmission_number(path: str | Path) -> int:
    """A resubmitted return ends its name with -v2, -v3...; a name without one is version 1."""
    m = _VERSION_RE.search(Path(path).stem)
    return int(m.group(1)) if m else 1


def latest_version(found: list) -> tuple[Any, list, list]:
    """Of several returns for one provider and month: (the one to use, those it replaces,
    those that clash with it at the same version). The rule: the highest -vN in the name."""
    ranked = sorted(found, key=lambda r: (resubmission_number(r.path), r.path))
    top = resubmission_number(ranked[-1].path)
    best = [r for r in ranked if resubmission_number(r.path) == top]
    return best[0], [r for r in ranked if resubmission_number(r.path) < top], best[1:]


def month_of_folder(path: Path) -> Month | None:
    try:
        return Month.parse(path.parent.name)
    except PbrError:
        return None


def read_and_check(files: list[Path], model: Model, register: Register,
                   progress: Callable[[Path], None] | None = None, cache=None) -> Collection:
    """Read and check each file; with a cache (pbr_cli.cache), a file unchanged since it
    was last checked against the same model and register is not read again."""
    wanted = [COVER_SHEET] + [s.name for s in model.sheets]
    result = Collection()
    for path in files:
        if progress:
            progress(path)
        key = _cache_key(cache, Path(path), model, register)
        found = cache.get(key) if key else None
        if found is not None:
            (result.unreadable if isinstance(found, Unreadable) else result.returns).append(found)
            continue
        try:
            raw = read_workbook(path, wanted)
        except UnreadableFile as exc:
            checked: Any = Unreadable(str(path), exc.code, exc.why)
            result.unreadable.append(checked)
        else:
            checked = check_return(raw, model, register, month_of_folder(path))
            result.returns.append(checked)
        if key:
            cache.put(key, checked)
    return result


def _cache_key(cache, path: Path, model: Model, register: Register) -> str | None:
    from pbr_cli.returns.reader import MAX_FILE_BYTES

    if cache is None:
        return None
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None  # refused from its size, before a byte is read
        data = path.read_bytes()
    except OSError:
        return None
    return cache.key(data, path, model, register, month_of_folder(path))


def returns_for_months(root: Path, months: list[Month]) -> list[Path]:
    files: list[Path] = []
    for month in months:
        folder = Path(root) / str(month)
        if folder.is_dir():
            files += return_files([folder])
    return files


def latest_month(root: Path) -> Month | None:
    months = []
    if Path(root).is_dir():
        for child in Path(root).iterdir():
            try:
                if child.is_dir() and any(return_files([child])):
                    months.append(Month.parse(child.name))
            except PbrError:
                continue
    return max(months) if months else None

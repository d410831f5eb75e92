"""Find, read and check the returns a job needs.

Returns are filed by month: RETURNS/YYYY-MM/*.xlsx (any file name; the Cover says whose it
is). Reading and checking are the two stages before calculation; this module runs them over
many files and gathers the results, printing nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbr_cli.cache import remove_left_by
from pbr_cli.errors import PbrError
from pbr_cli.model.records import Model
from pbr_cli.names import shown
from pbr_cli.problems import FATAL, Problem
from pbr_cli.returns.checked import CheckedReturn, PackedTables, TablesLetGo
from pbr_cli.returns.checks import check_return
from pbr_cli.returns.cohort_records import Interned, compact
from pbr_cli.returns.folders import month_of_folder
from pbr_cli.returns.joined import load_joined, store_joined
from pbr_cli.returns.layout import COVER_SHEET
from pbr_cli.returns.register import Register
from pbr_cli.workbook.package import UnreadableFile
from pbr_cli.workbook.reader import read_workbook
from pbr_cli.workers import KILLED, Lost, Workers


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
    model_of: dict[str, str] = field(default_factory=dict)  # path -> model (no model given)
    nameless: list[str] = field(default_factory=list)  # no model given, none on the Cover
    # read without tables: what the returns' records were compacted with (their clients' ids
    # and groups, each held once)
    clients: Interned | None = None
    groups: Interned | None = None


PARALLEL_FROM = 48  # files to read before it pays to start more than one worker process


def worker_count(files: int, parallel_from: int = PARALLEL_FROM) -> int:
    """How many worker processes read `files` returns (every return is read in one, never in
    pbr's own process): `$PBR_WORKERS` if set, else one a CPU core, up to 8; but one for
    fewer than `parallel_from` files, where starting more costs more than it saves."""
    import os

    wanted = os.environ.get("PBR_WORKERS", "").strip()
    if wanted.isdigit() and int(wanted) >= 1:
        count = int(wanted)
    else:
        count = min(os.cpu_count() or 1, 8, _fit_in_memory()) if files >= parallel_from else 1
    return max(1, min(count, files))


READER_PEAK = 2**30  # the most reading one return within the limits takes (docs/limits.md)


def _fit_in_memory() -> int:
    """How many workers can each read a return as costly as the limits allow at once, in
    the memory the machine has free (at least one; 8 where it cannot tell)."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            free = next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith(b"MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return 8
    return max(1, free // READER_PEAK)


def read_and_check(files: list[Path], model: Model | None, register: Register | None,
                   progress: Callable[[Path], None] | None = None, cache=None,
                   choose: Callable[[str], tuple[Model, Register]] | None = None,
                   tables: bool | None = True) -> Collection:
    """Read and check each file; with a cache (pbr_cli.cache), a file unchanged since it
    was last checked against the same model and register is not read again. The files left
    to read are shared among worker processes (see worker_count); the result is the same,
    in the same order, however many there are.

    With no model, each file is checked against the model its Cover names, `choose(name)`
    giving that model and its register (or raising PbrError); the file is still read once.
    Collection.model_of then says which model each return was checked against, and
    Collection.nameless lists the files whose Cover names none.

    With `tables` False, each return is kept without its tables once it is checked (and
    cached whole): only its cover's facts, its problems and, for a client-level model, its
    records as columns, compacted (cohort_records.compact, with Collection.clients and
    .groups) as each return comes in. What `pbr validate` holds then stays small however
    many returns it checks. With `tables` None, a return with client-level records keeps
    only them, compacted as it comes in, its tables let go (TablesLetGo), and any other
    return keeps its tables: for a caller that reads client-level returns only through
    pbr_cli.pricing.cohort.history (`pbr calculate`)."""
    result = Collection()
    clients, groups = Interned(), Interned()
    if tables is not True:
        result.clients, result.groups = clients, groups

    def held(found: Any) -> Any:
        """What is kept of a return as it comes in."""
        if tables is True:
            return found
        checked = found.checked if isinstance(found, Chosen) else found
        if isinstance(checked, CheckedReturn):
            if tables is False:
                checked.tables = {}
            if checked.cohort:
                checked.cohort = compact(checked.cohort, clients, groups)
                if tables is None:  # its records are all the history reads of it
                    checked.tables = TablesLetGo()
        return found

    done: list[Any] = [None] * len(files)
    todo: list[tuple[int, Path, str | None]] = []  # to read
    kept: list[tuple[int, Path, str, str | None]] = []  # in the cache
    keys = [_cache_key(cache, Path(path), model, register, choose) for path in files]
    # a client-level run's records, kept joined: the returns it holds are taken from it
    joining = cache is not None and model is not None and tables is None
    joined = (load_joined(cache, model, register, {key for key, _ in keys if key})
              if joining else None)
    if joined is not None:
        clients, groups = result.clients, result.groups = joined.clients, joined.groups
    for i, (path, (key, name)) in enumerate(zip(files, keys, strict=True)):
        if joined is not None and key in joined.returns:
            done[i] = _named_as(joined.returns.pop(key), str(path))
            if progress:
                progress(path)
        elif key and cache.has(key):
            kept.append((i, Path(path), key, name))
        else:
            todo.append((i, Path(path), key))
    # The workers start first, while this process is small, and read while it loads the
    # cached files. Every file is read in a worker process, never in this one: a file that
    # makes the reader crash, run out of its memory limit or its time costs that file, not
    # the run.
    seconds = reader_seconds()
    job = (model, register, cache, choose, True, tables)
    if todo:
        _warm()
    pools = [(Workers(_read_one, todo, worker_count(len(todo)), seconds, _start, job), todo)
             ] if todo else []

    read_now: set[int] = set()  # the files read by this run (not found in the cache)

    def take(items: list, answers) -> None:
        for at, answer in answers:
            i, path, _ = items[at]
            done[i] = (_lost(path, answer, model, seconds) if isinstance(answer, Lost)
                       else held(answer))
            read_now.add(i)
            if progress:
                progress(path)

    try:
        again: list[tuple[int, Path, str | None]] = []
        for i, path, key, name in kept:
            for pool, items in pools:  # the answers so far, and more work for the workers
                take(items, pool.pump())
            found = cache.get(key)
            if found is None:  # unreadable after all: read it
                again.append((i, path, key))
                continue
            found = _named_as(held(found), str(path))
            done[i] = found if model is not None else Chosen(name, found)
            if progress:
                progress(path)
        if again:
            pools.append((Workers(_read_one, again, 1, seconds, _start, job), again))
        for pool, items in pools:
            take(items, pool.answers())
    finally:
        for pool, _ in pools:
            pool.close()
        if cache is not None and KILLED:  # a worker ended while it may have been writing
            remove_left_by(cache.folder, KILLED)
            KILLED.clear()
    clients.seal()  # every return is in: the ids are numbered
    groups.seal()
    if joining:
        assert model is not None  # (joining: a model was given)
        # (a file read now is kept under its key only if it is still the bytes hashed)
        members = [(key, r) for i, ((key, _), r) in enumerate(zip(keys, done, strict=True))
                   if key and isinstance(r, CheckedReturn) and (
                       i not in read_now or key == _key_of_read(cache, r.sha256, files[i], model, register))]
        # written again when this run read a return the entry does not hold (not when it
        # read fewer: a run of an earlier month again leaves the latest months' entry)
        if joined is None or not {key for key, _ in members} <= joined.members:
            store_joined(cache, model, register, members, clients, groups)
    for path, checked in zip(files, done, strict=True):
        label = shown(path)
        if label != str(path):  # a name that cannot be printed as it is: shown escaped
            if isinstance(checked, Chosen):
                checked.checked = _named_as(checked.checked, label)
            elif checked is not None:
                checked = _named_as(checked, label)
        if isinstance(checked, Chosen):
            if checked.error is not None:
                raise checked.error
            if checked.name is None:
                result.nameless.append(str(path))
                continue
            if checked.name:
                result.model_of[str(path)] = checked.name
            checked = checked.checked
        (result.unreadable if isinstance(checked, Unreadable) else result.returns).append(checked)
    return result


@dataclass
class Chosen:
    """A file checked against the model its Cover names (name None: it names none)."""

    name: str | None
    checked: Any = None
    error: PbrError | None = None  # the named model cannot be loaded


# What every file of a run is checked against, in each process: the model, register, cache
# and chooser, and what the checks have worked out for earlier files (a cohort outcome's
# rule for each set of values). Set once per process by _start, the worker pool's
# initializer: a pool hands its function only each file, so this is how a worker reaches
# them without their being pickled for every file (forked workers inherit them unpickled).
_JOB: dict[str, Any] = {}


def _start(model: Model | None, register: Register | None, cache, choose=None,
           worker: bool = False, tables: bool = True) -> None:
    _JOB.update(model=model, register=register, cache=cache, choose=choose, worker=worker,
                tables=tables,
                wanted=[COVER_SHEET] + [s.name for s in model.sheets] if model else None,
                rules={})
    if worker:
        _limit_memory()
        _quiet()


READER_MEMORY = 2 * 2**30  # what reading one file may take beyond what pbr already holds
READER_SECONDS = 120  # how long one file may take to read, from when a worker takes it


def _warm() -> None:
    """Import here, once, what reading a first file imports, before the workers are forked
    from this process: each then starts ready, and a file's deadline is spent on the file
    (pandas alone takes a fresh worker half a second, several seconds on a busy machine)."""
    import pandas  # noqa: F401
    import python_calamine  # noqa: F401


def reader_seconds() -> float:
    """How long one file may take to read: `$PBR_READER_SECONDS` if it is a number of
    seconds above 0, else READER_SECONDS (docs/limits.md)."""
    import math

    try:
        wanted = float(os.environ.get("PBR_READER_SECONDS", ""))
    except ValueError:
        return READER_SECONDS
    return wanted if math.isfinite(wanted) and wanted > 0 else READER_SECONDS


def _lost(path: Path, lost: Lost, model: Model | None, seconds: float) -> Any:
    """A file whose worker gave no answer: unusable, saying how the reading failed."""
    if lost.how == "deadline":
        how = (f"reading it took longer than {seconds:g} s (the limit for one return): the "
               "file is damaged or built to stall a reader")
    elif lost.how == "memory":
        how = f"reading it took more than the {READER_MEMORY // 2**30} GiB of memory one return may"
    elif lost.signal_name:
        how = f"the reader crashed on it ({lost.signal_name})"
    else:
        how = f"the reader stopped on it (exit code {lost.exit_code})"
    checked = Unreadable(str(path), "reader-failed", f"{how}; the file cannot be used (every "
                         "other return is read as usual): send it again saved from Excel")
    return checked if model is not None else Chosen("", checked)


def _limit_memory() -> None:
    """Bound this worker's address space: a file that makes the reader allocate without
    end fails the allocation (the worker dies, the file is unusable), not the machine."""
    try:
        import resource

        with open("/proc/self/status", "rb") as fh:
            size = next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith(b"VmSize:"))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + READER_MEMORY
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError, StopIteration):
        pass  # no such limit on this system: the time limit and the gate still hold


def _quiet() -> None:
    """A worker says nothing on the terminal: what a crashing reader prints on its way down
    (an allocation failure, a panic) is not pbr's message; pbr names the file instead."""
    import faulthandler
    import os

    faulthandler.disable()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass


def _read_one(job: tuple[int, Path, str | None]) -> Any:
    _, path, key = job
    model, register, cache = _JOB["model"], _JOB["register"], _JOB["cache"]
    try:
        raw = read_workbook(path, _JOB["wanted"] if model is not None else _sheets_named,
                            first=COVER_SHEET)
    except UnreadableFile as exc:
        checked: Any = Unreadable(str(path), exc.code, exc.why)
        if model is None:
            return Chosen("", checked)  # not cached: no model to key it by
        read = exc.sha256  # None: nothing was read
    else:
        if model is None:
            return _read_chosen(path, raw, cache)
        checked = _check(raw, model, register, path)
        read = checked.sha256
    # kept under the key of the bytes hashed before the run, only if those are the bytes read
    # (a file replaced in between is used as read, and kept under no other bytes' key)
    if key and read and key == _key_of_read(cache, read, path, model, register):
        cache.put(key, checked)
    return checked if _JOB.get("tables", True) is not False else _without_tables(checked)


def _without_tables(checked: Any) -> Any:
    """A checked return without its tables (the rest as it is): what a caller that wants
    only problems and records keeps."""
    if isinstance(checked, CheckedReturn):
        checked.tables = {}
    return checked


def _check(raw, model: Model, register: Register, path: Path) -> CheckedReturn:
    """Check a return; for a client-level model, also find its rows as columns, here (in a
    worker, and kept in the cache) rather than at every run that uses the return."""
    checked = check_return(raw, model, register, month_of_folder(path))
    if model.cohort is not None:
        from pbr_cli.returns.cohort_records import record_columns

        checked.cohort = record_columns(model, checked, _JOB.setdefault("rules", {}))
    if _JOB.get("worker"):  # pickled for the cache and for the collector: pack them once
        checked.tables = PackedTables.of(checked.tables)
    return checked


def _sheets_named(cover) -> list[str]:
    """The sheets of the model a Cover names (none if it names none that loads)."""
    name = cover_model(cover)
    if not name:
        return []
    try:
        model, _ = _JOB["choose"](name)
    except PbrError:
        return []
    return [s.name for s in model.sheets]


def _read_chosen(path: Path, raw, cache) -> Chosen:
    name = cover_model(raw.sheets.get(COVER_SHEET))
    if cache is not None:
        cache.put(cache.cover_key(raw.sha256, _absolute(path)), name or "")
    if not name:
        return Chosen(None)
    try:
        model, register = _JOB["choose"](name)
    except PbrError as exc:
        return Chosen(name, error=exc)
    checked = _check(raw, model, register, path)
    if cache is not None:
        cache.put(cache.key_of(raw.sha256, _absolute(path), model, register,
                               month_of_folder(path)), checked)
    return Chosen(name, checked if _JOB.get("tables", True) is not False else _without_tables(checked))


def cover_model(sheet) -> str | None:
    """The model a Cover sheet (a RawSheet, or None) names in column B beside 'Model'."""
    for row in (sheet.rows if sheet else []):
        if row and str(row[0]).strip().casefold() == "model" and len(row) > 1:
            return str(row[1]).strip() or None
    return None


def _absolute(path: Path) -> Path:
    """The path from the root, as given (symbolic links are not followed: the month folder
    a file is filed in is part of what it is checked against)."""
    import os

    return Path(os.path.abspath(path))


def _named_as(found: Any, label: str) -> Any:
    """A cached result for the same file given by another path (relative, absolute): the
    problems name the file as this run was given it."""
    from dataclasses import replace

    if found.path == label:
        return found
    if isinstance(found, Unreadable):
        return replace(found, path=label)
    old, found.path = found.path, label
    found.problems = [replace(p, file=label) if p.file == old else p for p in found.problems]
    return found


def _key_of_read(cache, sha256: str, path: Path, model: Model,
                 register: Register | None) -> str:
    """The cache key of a return's bytes, by their SHA-256: its path from the root (the same
    file however it is given) and the month folder it is filed in, with the model, register
    and pbr's code (pbr_cli.cache). One recipe, for the bytes hashed before a run
    (_cache_key) and the bytes a worker read."""
    return cache.key_of(sha256, _absolute(Path(path)), model, register,
                        month_of_folder(Path(path)))


def _cache_key(cache, path: Path, model: Model | None, register: Register | None,
               choose=None) -> tuple[str | None, str | None]:
    """(the key of the file's checked form, the model its Cover names): with no model
    given, the key is found through the model the Cover was seen to name when the file was
    last read (None when it has not been)."""
    import hashlib

    from pbr_cli.workbook.reader import MAX_FILE_BYTES

    if cache is None:
        return None, None
    from pbr_cli.files import read_bounded

    try:
        data = read_bounded(path, MAX_FILE_BYTES)
    except OSError:  # too large, not a regular file, unreadable: the reader says which
        return None, None
    sha = hashlib.sha256(data).hexdigest()
    name = None
    if model is None:
        name = cache.get(cache.cover_key(sha, _absolute(path)))
        if not name:
            return None, None
        try:
            model, register = choose(name)
        except PbrError:
            return None, None  # read it, and say what is wrong with the model
    return _key_of_read(cache, sha, path, model, register), name

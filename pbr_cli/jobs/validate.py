"""`pbr validate`: check return files or folders against their models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbr_cli.cycle.config import load_config
from pbr_cli.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE, PbrError
from pbr_cli.model import find_model, load_model
from pbr_cli.problems import ERROR, FATAL, FileStatus, Problem
from pbr_cli.returns.collect import Unreadable, read_and_check
from pbr_cli.returns.folders import archives_under, return_files
from pbr_cli.returns.register import load_register

SCHEMA_VERSION = 1


@dataclass
class FileResult:
    path: str
    status: FileStatus
    model: str | None
    provider: str | None
    month: str | None
    problems: list[Problem] = field(default_factory=list)
    readable: bool = True  # False when the file could not be opened as a workbook at all
    checked_against: str = ""  # "model NAME version V", for the annotated copy


@dataclass
class ValidationReport:
    files: list[FileResult]

    @property
    def exit_code(self) -> int:
        if any(f.status == FileStatus.UNUSABLE for f in self.files):
            return EXIT_UNUSABLE
        if any(f.status == FileStatus.ERRORS for f in self.files):
            return EXIT_PROBLEMS
        return EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "exit_code": self.exit_code,
            "files": [
                {"file": f.path, "status": f.status, "model": f.model, "provider": f.provider,
                 "month": f.month, "problems": [p.as_dict() for p in f.problems]}
                for f in self.files
            ],
        }


class ModelChooser:
    """The model a Cover names and its register, each loaded once."""

    def __init__(self, models: Path, register_path: Path | None):
        self.models, self.register_path = models, register_path
        self.loaded: dict[str, Any] = {}

    def __call__(self, name: str):
        if name not in self.loaded:
            model = load_model(find_model(name, self.models))
            self.loaded[name] = (model, load_register(model, self.register_path))
        return self.loaded[name]


def validate_paths(paths: list[Path], model_name: str | None, register_path: Path | None,
                   config: Path | None,
                   progress: Callable[[int, int, Path], None] | None = None) -> ValidationReport:
    cfg = load_config(config)
    files = return_files(paths)
    archives = archives_under(paths)
    if not files:
        raise PbrError(f"no returns (.xlsx files) found in {', '.join(map(str, paths))}"
                       + (f"; unpack {', '.join(map(str, archives))} (pbr opens no archive)"
                          if archives else ""), code="file-not-found")
    results: list[FileResult] = [_archived(a) for a in archives]
    done = 0

    def tick(path: Path, total: int = len(files)) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, path)

    if model_name:
        model = load_model(find_model(model_name, cfg.models))
        register = load_register(model, register_path)
        collection = read_and_check(files, model, register, tick, cfg.cache,
                                    tables=False)
        groups = {model.name: (model, collection.returns)}
    else:
        # each file once: its Cover names the model it is checked against
        choose = ModelChooser(cfg.models, register_path)
        collection = read_and_check(files, None, None, tick, cfg.cache, choose,
                                    tables=False)
        for path in collection.nameless:
            results.append(FileResult(path, FileStatus.ERRORS, None, None, None, [Problem(
                path, ERROR, "missing-cover", "cannot tell which scheme this return is "
                "for: it has no Cover sheet naming the model; give --model")]))
        groups = {}
        for r in collection.returns:
            model = choose(collection.model_of[r.path])[0]
            groups.setdefault(model.name, (model, []))[1].append(r)
    for bad in collection.unreadable:
        results.append(_unreadable(bad))
    for model, returns in groups.values():
        if model.cohort is not None:
            check_episodes(model, returns, collection.clients)
        duplicate_returns(returns)
        for r in returns:
            results.append(FileResult(r.path, r.status, model.name, r.provider,
                                      str(r.month) if r.month else None, r.problems,
                                      checked_against=f"the model {model.name} (version "
                                      f"{model.version}, {model.title})"))
    order = {str(p): i for i, p in enumerate(files)}
    results.sort(key=lambda f: order.get(f.path, 0))
    return ValidationReport(results)


def duplicate_returns(returns) -> None:
    """Two returns for one provider and month: both are errors until one is withdrawn."""
    from collections import defaultdict

    seen: dict[tuple, list] = defaultdict(list)
    for r in returns:
        if r.provider and r.month:
            seen[(r.provider, r.month)].append(r)
    from pbr_cli.returns.versions import latest_version, version_problems

    for (provider, month), found in seen.items():
        if len(found) < 2:
            continue
        best, replaced, clash = latest_version(found)
        for r, problem in version_problems(provider, month, best, replaced, clash):
            r.problems.append(problem)


def check_episodes(model, returns, clients=None) -> None:
    """Client-level checks across the files being validated (a discharge needs its
    presentation, reviews need an episode...). A check that needs a month not among the
    files is not made: validate a provider's whole folder to check everything."""
    from collections import defaultdict

    from pbr_cli.pricing.cohort.history import build_history

    covered: dict[str, set] = defaultdict(set)
    usable = [r for r in returns if r.provider and r.month]
    for r in usable:
        covered[r.provider].add(r.month)
    by_file = {r.path: r for r in usable}
    for problem in build_history(model, usable, covered, report_assumed=False,
                                 records_once=True, clients=clients).problems:
        by_file[problem.file].problems.append(problem)


def _archived(path: Path) -> FileResult:
    """An archive under a folder named: the returns in it are not read, so it is named
    (a month's returns sent zipped and passed over would leave providers unpaid)."""
    return FileResult(str(path), FileStatus.UNUSABLE, None, None, None, [Problem(
        str(path), FATAL, "bad-month-folder", "an archive: pbr opens no archive, so the "
        "returns in it are not read; unpack it into its month folder (YYYY-MM)")],
        readable=False)


def _unreadable(bad: Unreadable) -> FileResult:
    return FileResult(bad.path, FileStatus.UNUSABLE, None, None, None, [bad.problem()], readable=False)


def write_annotations(report: ValidationReport, paths: list[Path], target: Path) -> list[tuple[str, Path]]:
    """Annotated copies: `target` is the workbook when one file was given, else a folder that
    gets a copy of every readable file with problems. Returns (source, copy) pairs."""
    import os

    from pbr_cli.outputs.annotate import write_annotated

    single = len(paths) == 1 and not Path(paths[0]).is_dir()
    if single:
        f = report.files[0]
        if not f.readable:
            return []
        write_annotated(Path(f.path), f.problems, target, f.checked_against or "no model")
        return [(f.path, target)]
    if target.suffix.lower() in (".xlsx", ".xlsm") or target.is_file():
        raise PbrError(f"--annotate {target}: with several returns, give a folder for the "
                       "annotated copies", code="usage")
    chosen = [f for f in report.files if f.readable and f.problems]
    if not chosen:
        return []
    base = Path(os.path.commonpath([str(Path(f.path).resolve().parent) for f in chosen]))
    written = []
    for f in chosen:
        rel = Path(f.path).resolve().relative_to(base)
        out = target / rel.parent / f"{rel.stem}-annotated.xlsx"
        write_annotated(Path(f.path), f.problems, out, f.checked_against or "no model")
        written.append((f.path, out))
    return written

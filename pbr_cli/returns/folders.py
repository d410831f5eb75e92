"""Where returns are filed: a returns folder holds one folder per month, named exactly YYYY-MM,
and each month folder the providers' return files for that month."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pbr_cli.errors import PbrError
from pbr_cli.names import shown
from pbr_cli.periods import Month

RETURN_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
# Archives pbr does not open: a month's returns sent as one would be skipped unread, and
# every provider in it withheld, so one in a returns folder is named, never passed over.
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz")


def archives_under(paths: Iterable[Path]) -> list[Path]:
    """The archives under the folders named (a month's returns sent zipped), sorted."""
    return sorted(p for path in paths if Path(path).is_dir() for p in Path(path).rglob("*")
                  if p.suffix.lower() in ARCHIVE_SUFFIXES and p.is_file()
                  and not p.name.startswith("~$"))


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


def month_of_folder(path: Path) -> Month | None:
    try:
        return Month.parse(path.parent.name)
    except PbrError:
        return None


MONTH_FOLDER_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MONTH_LIKE_RE = re.compile(r"\d{4}-\d{1,2}(?!\d)")


def skipped_unread(path: Path) -> bool:
    """An archive, or a hidden folder named like a month (`.2013-10`): what holds returns
    but would otherwise be passed over without a word."""
    if path.name.startswith("~$"):
        return False
    if path.suffix.lower() in ARCHIVE_SUFFIXES and path.is_file():
        return True
    return path.name.startswith(".") and path.is_dir() and \
        MONTH_LIKE_RE.search(path.name) is not None


def month_folders(root: Path) -> tuple[dict[Month, Path], list[str]]:
    """The month folders under a returns folder, and everything else there that is not
    hidden: folders not named exactly YYYY-MM, return files filed outside a month,
    archives and hidden folders named like a month."""
    found: dict[Month, Path] = {}
    misfiled: list[str] = []
    if not Path(root).is_dir():
        return found, misfiled
    for child in sorted(Path(root).iterdir()):
        if skipped_unread(child):
            misfiled.append(shown(child.name))
            continue
        if child.name.startswith((".", "~$")):
            continue
        if child.is_dir() and MONTH_FOLDER_RE.fullmatch(child.name):
            found[Month.parse(child.name)] = child
        elif child.is_dir() or child.suffix.lower() in RETURN_SUFFIXES:
            misfiled.append(shown(child.name))
    return found, misfiled


def check_month_folders(root: Path) -> None:
    """Refuse a returns folder holding a month folder not named exactly YYYY-MM (a `2013-8`
    would leave August's returns unread and every provider withheld), a return filed
    outside any month, an archive (a month's returns sent zipped) or a hidden folder named
    like a month (`.2013-10`)."""
    _, misfiled = month_folders(root)
    if misfiled:
        raise PbrError(f"{shown(root)}: not a month folder: {', '.join(misfiled)}; returns are "
                       f"filed in folders named exactly YYYY-MM (e.g. 2013-08), unpacked (pbr "
                       "opens no archive) and not hidden", code="bad-month-folder")


def checked_root(root: Path) -> Path:
    """A scheme's returns folder, refused when it is not there or holds anything not filed
    in a month folder named exactly YYYY-MM."""
    if not Path(root).is_dir():
        raise PbrError(f"no returns folder {shown(root)} (returns are filed as "
                       f"{shown(root)}/YYYY-MM/*.xlsx)", code="file-not-found")
    check_month_folders(root)
    return Path(root)


def returns_for_months(root: Path, months: list[Month]) -> list[Path]:
    folders, _ = month_folders(root)
    files: list[Path] = []
    for month in months:
        folder = folders.get(month)
        if folder is not None:
            files += return_files([folder])
    return files


def months_with_returns(root: Path) -> list[Month]:
    folders, _ = month_folders(root)
    return [m for m, folder in sorted(folders.items()) if return_files([folder])]


def latest_month(root: Path) -> Month | None:
    months = months_with_returns(root)
    return max(months) if months else None

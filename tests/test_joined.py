"""The records of every return a client-level run read, kept joined in the cache
(pbr_cli/returns/joined.py): a monthly run takes the earlier months from the one entry, and
what it takes is what reading the files gives; a changed return alone is read again; an
entry that cannot be trusted or read is passed over."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil

import pytest

from pbr_cli.cache import ReturnCache
from pbr_cli.model import load_model
from pbr_cli.pricing.cohort.history import build_history
from pbr_cli.returns.collect import read_and_check
from pbr_cli.returns.joined import SHAPE
from pbr_cli.returns.register import load_register
from tests.conftest import COHORT_MODEL_PATH, ROOT
from tests.test_cache import _records

SAMPLES = ROOT / "sample_returns" / "wigan-cohort"


@pytest.fixture
def months(tmp_path, monkeypatch):
    """The shipped cohort returns of the scheme's first nine months, copied (month folder by
    month folder): the earlier months' files, and every file."""
    monkeypatch.setenv("PBR_WORKERS", "1")
    for folder in sorted(SAMPLES.iterdir())[:9]:
        shutil.copytree(folder, tmp_path / "returns" / folder.name)
    every = sorted((tmp_path / "returns").rglob("*.xlsx"))
    last = max(p.parent.name for p in every)
    return [p for p in every if p.parent.name != last], every


@pytest.fixture
def scheme():
    model = load_model(COHORT_MODEL_PATH)
    return model, load_register(model)


def same_as_read(kept, fresh, model) -> None:
    """Every return as reading the files gives it: cover facts, problems, records; and the
    history from them the same."""
    assert [r.path for r in kept.returns] == [r.path for r in fresh.returns]
    assert kept.unreadable == fresh.unreadable
    for x, y in zip(fresh.returns, kept.returns, strict=True):
        assert (x.sha256, x.provider, x.month, x.problems, x.positions) == (
            y.sha256, y.provider, y.month, y.problems, y.positions)
        assert _records(x.cohort) == _records(y.cohort), x.path
    covered: dict = {}
    for r in fresh.returns:
        covered.setdefault(r.provider, set()).add(r.month)
    first = min(r.month for r in fresh.returns)  # left out: the history has problems to find
    plain, joined = (build_history(model, [r for r in c.returns if r.month != first], covered,
                                   clients=c.clients)
                     for c in (fresh, kept))
    assert len(plain.problems) > 10 and joined.problems == plain.problems
    assert plain.clients == joined.clients
    for name, values in plain.episodes.items():
        assert values.tolist() == joined.episodes[name].tolist(), name


def test_a_monthly_run_takes_the_earlier_months_from_one_entry_as_reading_gives_them(
        tmp_path, months, scheme):
    model, register = scheme
    earlier, every = months
    folder = tmp_path / "cache"
    read_and_check(earlier, model, register, cache=ReturnCache(folder), tables=None)
    cache = ReturnCache(folder)
    kept = read_and_check(every, model, register, cache=cache, tables=None)
    new = len(every) - len(earlier)
    # one entry loaded for every earlier return; the new month's files read
    assert (cache.hits, cache.misses) == (1, new) and new > 3
    fresh = read_and_check(every, model, register, tables=None)
    same_as_read(kept, fresh, model)
    # the entry now holds the new month too: the next run reads nothing, loads one entry
    cache = ReturnCache(folder)
    again = read_and_check(every, model, register, cache=cache, tables=None)
    assert (cache.hits, cache.misses) == (1, 0)
    same_as_read(again, fresh, model)


def test_a_changed_earlier_return_alone_is_read_again(tmp_path, months, scheme):
    model, register = scheme
    earlier, every = months
    folder = tmp_path / "cache"
    read_and_check(every, model, register, cache=ReturnCache(folder), tables=None)
    # one earlier return replaced by another provider's return of the same month: its
    # bytes, so its key, change; it is read again, and its new records are used
    changed = earlier[5]
    other = next(p for p in earlier if p.parent == changed.parent and p != changed)
    shutil.copy(other, changed)
    cache = ReturnCache(folder)
    kept = read_and_check(every, model, register, cache=cache, tables=None)
    assert (cache.hits, cache.misses) == (1, 1)
    fresh = read_and_check(every, model, register, tables=None)
    same_as_read(kept, fresh, model)
    assert any(p.file == str(changed) for r in kept.returns for p in r.problems)


def test_an_entry_others_could_have_written_or_a_damaged_one_is_passed_over(tmp_path, months,
                                                                               scheme):
    model, register = scheme
    _, every = months
    folder = tmp_path / "cache"
    read_and_check(every, model, register, cache=ReturnCache(folder), tables=None)
    entry = ReturnCache(folder)._file(ReturnCache(folder).joined_key(model, register, SHAPE))
    assert entry.is_file()
    fresh = read_and_check(every, model, register, tables=None)
    whole = entry.read_bytes()
    for spoil in ("writable by others", "truncated", "not an entry", "a column cut short"):
        if spoil == "writable by others":
            os.chmod(entry, 0o666)
        elif spoil == "truncated":
            os.chmod(entry, 0o600)
            entry.write_bytes(whole[: len(whole) // 2])
        elif spoil == "not an entry":
            entry.write_bytes(pickle.dumps({"shape": 1, "keys": ["x"], "covers": [None]}))
        else:  # the entry's shape, one of its columns a row short
            held = pickle.loads(whole)
            held["columns"]["presentations"]["client"] = \
                held["columns"]["presentations"]["client"][:-1]
            entry.write_bytes(pickle.dumps(held))
        cache = ReturnCache(folder)
        kept = read_and_check(every, model, register, cache=cache, tables=None)
        # every return from its own entry, none from the joined one (which, not being
        # one, was loaded and passed over)
        assert cache.hits == len(every) + (spoil in ("not an entry", "a column cut short")), spoil
        same_as_read(kept, fresh, model)
        entry.write_bytes(whole)


def test_runs_over_months_with_returns_changed_moved_and_removed_take_what_reading_gives(
        tmp_path, months, scheme):
    """Months come in one at a time, as monthly runs see them; between runs an earlier
    return is changed, another is moved to another name (the same bytes: a new key, since
    problems name the file), and another is removed. Each run gives what reading every file
    afresh gives, and loads the joined entry for every return it holds unchanged."""
    import random

    model, register = scheme
    _, every = months
    folders = sorted({p.parent for p in every})
    chance = random.Random(20261207)
    cache_folder = tmp_path / "cache"
    seen: set = set()
    for step, folder in enumerate(folders[3:9:2]):
        present = sorted(p for f in folders if f <= folder for p in f.glob("*.xlsx"))
        if step:
            earlier = sorted(p for p in present if p.parent < folder)
            changed, moved, removed = chance.sample(earlier, 3)
            same_month = [p for p in earlier if p.parent == changed.parent and p != changed]
            shutil.copy(chance.choice(same_month), changed)
            moved.rename(moved.with_name("moved-" + moved.name))
            removed.unlink()
            present = sorted(p for f in folders if f <= folder for p in f.glob("*.xlsx"))
        cache = ReturnCache(cache_folder)
        kept = read_and_check(present, model, register, cache=cache, tables=None)
        new = [p for p in present if p not in seen]
        if step:  # the entry, and every file it does not hold unchanged
            assert (cache.hits, cache.misses) == (1, len(new) + 1), step
        same_as_read(kept, read_and_check(present, model, register, tables=None), model)
        seen = set(present)


def test_an_earlier_month_worked_out_again_leaves_the_latest_entry(tmp_path, months, scheme):
    """A run that reads fewer returns than the entry holds (an earlier month calculated
    again) takes them from it and leaves it as it is: the next monthly run still finds every
    earlier return there."""
    model, register = scheme
    earlier, every = months
    folder = tmp_path / "cache"
    read_and_check(every, model, register, cache=ReturnCache(folder), tables=None)
    entry = ReturnCache(folder)._file(ReturnCache(folder).joined_key(model, register, SHAPE))
    before = entry.stat().st_mtime_ns, entry.read_bytes()
    cache = ReturnCache(folder)
    again = read_and_check(earlier, model, register, cache=cache, tables=None)
    assert (cache.hits, cache.misses) == (1, 0)
    same_as_read(again, read_and_check(earlier, model, register, tables=None), model)
    assert (entry.stat().st_mtime_ns, entry.read_bytes()) == before
    cache = ReturnCache(folder)
    read_and_check(every, model, register, cache=cache, tables=None)
    assert (cache.hits, cache.misses) == (1, 0)


@pytest.mark.parametrize("replacement", ["another return", "not a workbook"])
def test_a_return_changed_while_a_run_reads_it_is_never_kept_as_its_earlier_bytes(
        tmp_path, months, scheme, monkeypatch, replacement):
    """A file replaced after pbr hashed it and before a worker read it (someone with write
    access to the returns, during a run): what the worker read is not kept under the key of
    the bytes hashed, in the return's own entry or the joined one. Else, with the file put
    back, a later run would take the replacement's records (or its being unreadable) for the
    original's bytes."""
    from pathlib import Path

    from pbr_cli.returns import collect

    model, register = scheme
    _, every = months
    target = every[7]
    other = (next(p for p in every if p.parent == target.parent and p != target)
             if replacement == "another return"
             else ROOT / "sample_returns" / "faulty" / "P03-2013-06-really-a-csv.xlsx")
    original = target.read_bytes()
    real = collect._cache_key

    def swapping(cache, path, *args, **kwargs):
        found = real(cache, path, *args, **kwargs)
        if Path(path) == target:
            shutil.copy(other, target)  # changed once its bytes are hashed, before it is read
        return found

    monkeypatch.setattr(collect, "_cache_key", swapping)
    folder = tmp_path / "cache"
    during = read_and_check(every, model, register, cache=ReturnCache(folder), tables=None)
    # the run itself used what it read
    if replacement == "another return":
        assert next(r for r in during.returns if r.path == str(target)).sha256 != \
            hashlib.sha256(original).hexdigest()
    else:
        assert [u.path for u in during.unreadable] == [str(target)]
    monkeypatch.setattr(collect, "_cache_key", real)
    target.write_bytes(original)  # back as it was when it was hashed
    kept = read_and_check(every, model, register, cache=ReturnCache(folder), tables=None)
    same_as_read(kept, read_and_check(every, model, register, tables=None), model)
    # nor is the return's own entry the replacement's
    alone = read_and_check([target], model, register, cache=ReturnCache(folder))
    assert not alone.unreadable and alone.returns[0].sha256 == hashlib.sha256(original).hexdigest()

"""No return can stall a run. Each return is read in a worker process that pbr's own signal
handler does not follow into (SIGTERM ends it), that dies with pbr, and that is killed when
its file's deadline passes; the run never waits on a worker that will not finish. The files
here are real ones that crash the reader, and workers stopped (SIGSTOP: a reader that never
answers) or killed from outside, as the machine or a stalled reader would leave them."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.corpus import replace_in, rewrite_zip

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SCHEME = "birmingham-90-10"
MONTH = "2013-08"
SAMPLES = ROOT / "sample_returns" / SCHEME / MONTH
HOSTILE = "P05"  # its shared strings claim 99,999,999 texts: the reader aborts allocating them


def _council(tmp_path: Path, hostile: bool = True) -> Path:
    """A config over one month of the 24 shipped returns of the scheme (the others' months
    are not filed: the run still pays every provider whose return it reads)."""
    month = tmp_path / "returns" / SCHEME / MONTH
    shutil.copytree(SAMPLES, month)
    if hostile:
        path = month / f"{HOSTILE}-{MONTH}.xlsx"
        body = zipfile.ZipFile(path).read("xl/sharedStrings.xml")
        declared = re.search(rb'uniqueCount="\d+"', body)
        assert declared
        replace_in(path, "xl/sharedStrings.xml", declared.group(), b'uniqueCount="99999999"')
    config = tmp_path / "pbr.yaml"
    config.write_text(f"models: {ROOT / 'models'}\nreturns: {tmp_path / 'returns'}\n"
                      f"output: {tmp_path / 'out'}\nledger: {tmp_path / 'ledger.sqlite'}\n"
                      f"log: {tmp_path / 'pbr.log'}\nschemes: [{SCHEME}]\n")
    return config


class Run:
    """`pbr calculate --dry-run --json` as a subprocess, marked so that every process it
    starts can be found afterwards (they inherit the mark in their environment)."""

    def __init__(self, config: Path, **env: str):
        self.mark = uuid.uuid4().hex
        environ = {k: v for k, v in os.environ.items() if k not in ("PBR_CONFIG", "PBR_LEDGER")}
        environ.update(PBR_CACHE="off", PBR_TEST_RUN=self.mark, **env)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pbr_cli", "calculate", "-m", SCHEME, "-p", MONTH,
             "--dry-run", "--json", "--config", str(config)],
            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def workers(self) -> set[int]:
        return _below(self.proc.pid)

    def wait_for_workers(self, count: int) -> set[int]:
        deadline = time.monotonic() + 30
        while len(found := self.workers()) < count:
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, "no workers started"
            time.sleep(0.01)
        return found

    def end(self, within: float) -> tuple[dict | None, str, float]:
        """(the JSON, stderr, seconds taken); fails (and kills every process of the run)
        past `within` seconds."""
        try:
            out, err = self.proc.communicate(timeout=max(0.1, self.started + within
                                                         - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill_all()
            pytest.fail(f"the run did not end within {within} s")
        taken = time.monotonic() - self.started
        return (json.loads(out) if out.strip() else None), err, taken

    def left(self) -> list[int]:
        """The run's processes still alive (not zombies) a moment after it ended."""
        deadline = time.monotonic() + 3
        while (found := _marked(self.mark)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def kill_all(self) -> None:
        for pid in _marked(self.mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _stat(pid: int | str) -> tuple[str, int] | None:
    """(state, parent) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _below(pid: int) -> set[int]:
    """The living processes whose parent is `pid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) and stat[1] == pid and stat[0] != "Z":
            found.add(int(entry))
    return found


def _marked(mark: str) -> list[int]:
    """Living processes whose environment carries the mark."""
    needle = f"PBR_TEST_RUN={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and (stat := _stat(entry)) and stat[0] != "Z":
            found.append(int(entry))
    return found


def _refused(report: dict) -> dict[str, str]:
    """File name -> message of each return refused whole (a fatal problem of a file)."""
    return {Path(p["file"]).name: p["message"] for p in report["problems"]
            if p["severity"] == "fatal" and p["file"]}


def _paid(report: dict) -> set[str]:
    return {p["provider"] for p in report["providers"] if p["status"] == "paid"}


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> dict[str, str]:
    """Each provider's payment in a run of the unchanged returns by one worker, nothing
    interfering: what a disturbed run must pay every provider whose return it reads."""
    run = Run(_council(tmp_path_factory.mktemp("undisturbed"), hostile=False), PBR_WORKERS="1")
    report, err, _ = run.end(within=60)
    assert report is not None and run.proc.returncode == 0, err
    return {p["provider"]: p["payment"] for p in report["providers"]}


def _payments(report: dict) -> dict[str, str]:
    return {p["provider"]: p["payment"] for p in report["providers"] if p["status"] == "paid"}


def _every_provider(report: dict) -> set[str]:
    return {p["provider"] for p in report["providers"]}


def _provider_of(name: str) -> str:
    return name.split("-", 1)[0]


def test_a_return_that_aborts_its_reader_costs_only_its_provider(tmp_path, undisturbed):
    """The finding: a return whose shared strings claim 99,999,999 texts makes the reader
    abort. With three workers and no cache the run ends, names the file, withholds its
    provider and pays the other 23; nothing of the run is left running."""
    run = Run(_council(tmp_path), PBR_WORKERS="3")
    report, err, taken = run.end(within=60)
    assert report is not None and "Traceback" not in err
    refused = _refused(report)
    if not refused:  # a reader that reads the file (python-calamine 0.5, the lowest pin)
        assert run.proc.returncode == 0 and len(_paid(report)) == 24, err
        assert run.left() == []
        return
    assert run.proc.returncode == 1, err  # a provider withheld
    assert list(refused) == [f"{HOSTILE}-{MONTH}.xlsx"], refused
    assert "the reader crashed on it (SIGABRT)" in refused[f"{HOSTILE}-{MONTH}.xlsx"]
    assert _paid(report) == _every_provider(report) - {HOSTILE}
    assert len(_paid(report)) == 23
    assert _payments(report) == {p: undisturbed[p] for p in _paid(report)}
    assert run.left() == []


def test_a_reader_that_never_answers_is_killed_at_its_deadline(tmp_path, undisturbed):
    """A worker that stops answering (stopped from outside, as a reader stalled on a file
    built for it would be) held the whole run: the pool waited on it for ever. Its file is
    refused when the deadline passes, saying so, and every other provider is paid."""
    run = Run(_council(tmp_path, hostile=False), PBR_WORKERS="2", PBR_READER_SECONDS="4")
    stalled = min(run.wait_for_workers(2))
    os.kill(stalled, signal.SIGSTOP)  # at once: it is starting, or reading its first file
    report, err, taken = run.end(within=45)
    assert report is not None and "Traceback" not in err, err
    refused = _refused(report)
    assert len(refused) == 1, refused
    [(name, message)] = refused.items()
    assert message.startswith("reading it took longer than 4 s (the limit for one return): "
                              "the file is damaged or built to stall a reader"), message
    assert _paid(report) == _every_provider(report) - {_provider_of(name)}
    assert _payments(report) == {p: undisturbed[p] for p in _paid(report)}
    assert run.proc.returncode == 1
    assert not _stat(stalled) or _stat(stalled)[0] == "Z"  # killed, not left stopped
    assert run.left() == []


def test_sigterm_ends_a_run_whose_worker_will_not_finish(tmp_path):
    """SIGTERM did not end pbr while a worker would not finish: the pool's shutdown waited
    on it. Now pbr says it was interrupted, exits 130 within a few seconds and leaves no
    process behind."""
    run = Run(_council(tmp_path), PBR_WORKERS="2")  # the deadline: the default 120 s
    workers = run.wait_for_workers(2)
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    time.sleep(0.3)
    asked = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    try:
        _, err = run.proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        run.kill_all()
        pytest.fail("SIGTERM did not end pbr")
    assert time.monotonic() - asked < 5
    assert run.proc.returncode == 130, err
    assert "pbr: interrupted (SIGTERM)" in err and "Traceback" not in err
    assert run.left() == []


def test_a_worker_ends_on_sigterm_and_its_file_is_read_again(tmp_path, undisturbed):
    """A worker inherited pbr's own SIGTERM handler: terminated (by the system, or by the
    pool when another worker crashed), it raised pbr's "interrupted" in the middle of a file
    and handed it to pbr as its answer, or hung writing it to a pipe nobody read. A worker
    ends on SIGTERM like any process; the file it held is read again in a fresh worker and
    the run pays every provider."""
    run = Run(_council(tmp_path, hostile=False), PBR_WORKERS="2")
    for pid in run.wait_for_workers(2):
        os.kill(pid, signal.SIGTERM)
    report, err, _ = run.end(within=45)
    assert run.proc.returncode == 0, err
    assert report is not None and "interrupted" not in err
    assert _refused(report) == {}
    assert _paid(report) == _every_provider(report) and len(_paid(report)) == 24
    assert _payments(report) == undisturbed
    assert run.left() == []


def test_workers_killed_and_stalled_at_random_never_stall_the_run(tmp_path, undisturbed):
    """Workers killed (SIGKILL) and stopped (SIGSTOP) at random moments, beside a return
    that aborts its reader: the run ends within its deadline, every return refused names a
    worker's failure, and every provider whose return was not refused is paid."""
    seed = int(os.environ.get("PBR_CHAOS_SEED", random.randrange(10**6)))
    chance = random.Random(seed)
    run = Run(_council(tmp_path), PBR_WORKERS="3", PBR_READER_SECONDS="4")
    hits: list[tuple[float, int, str]] = []

    signals = [signal.SIGKILL, signal.SIGKILL, signal.SIGSTOP] + chance.choices(
        [signal.SIGKILL, signal.SIGSTOP], k=3)
    chance.shuffle(signals)

    def chaos() -> None:
        for sig in signals:
            time.sleep(chance.uniform(0.05, 0.5))
            workers = sorted(run.workers())
            if run.proc.poll() is not None or not workers:
                return
            pid = chance.choice(workers)
            try:
                os.kill(pid, sig)
            except OSError:
                continue
            hits.append((time.monotonic() - run.started, pid, sig.name))

    run.wait_for_workers(1)
    hand = threading.Thread(target=chaos)
    hand.start()
    report, err, taken = run.end(within=50)
    hand.join()
    note = f"seed {seed} (PBR_CHAOS_SEED), hits {hits}"
    assert report is not None and "Traceback" not in err, (note, err)
    refused = _refused(report)
    # (refused where the reader aborts on it; python-calamine 0.5, the lowest pin, reads it)
    assert len(refused) <= 1 + len(hits), (note, refused)
    for message in refused.values():
        assert message.startswith(("the reader crashed on it", "reading it took longer")), note
    withheld = {_provider_of(name) for name in refused}
    assert _paid(report) == _every_provider(report) - withheld, note
    paid = {p: pay for p, pay in _payments(report).items() if p != HOSTILE}
    assert paid == {p: undisturbed[p] for p in _paid(report) - {HOSTILE}}, note
    assert run.proc.returncode == (1 if refused else 0), (note, err)
    assert run.left() == [], note


def _mutants(base: bytes, chance: random.Random, count: int) -> list[bytes]:
    """Returns changed at the XML level where a reader trusts what a file says of itself:
    counts, sizes, references and lengths set to extremes."""
    extremes = [b"99999999", b"2147483647", b"4294967296", b"-1", b"0", b"1E+308", b"", b"x"]
    changed = []
    while len(changed) < count:
        part = chance.choice(["xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml",
                              "xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"])

        def change(name: str, body: bytes, part=part) -> bytes:
            if name != part:
                return body
            found = list(re.finditer(rb'(\w+)="([^"]*)"', body))
            if not found:
                return body
            where = chance.choice(found)
            value = chance.choice(extremes + [where.group(2) * 40])
            return body[:where.start(2)] + value + body[where.end(2):]
        changed.append(rewrite_zip(base, change))
    return changed


def test_mutated_returns_never_hang_a_run_or_leave_a_worker(tmp_path):
    """Shipped returns changed at the XML level (counts and sizes a reader trusts, set to
    extremes), read by `pbr validate` in several workers: it ends in bounded time, every
    file has its answer, no traceback, and no worker is left."""
    seed = int(os.environ.get("PBR_CHAOS_SEED", random.randrange(10**6)))
    chance = random.Random(seed)
    folder = tmp_path / "returns" / SCHEME / MONTH
    folder.mkdir(parents=True)
    originals = sorted(SAMPLES.glob("*.xlsx"))
    for i, data in enumerate(_mutants(originals[0].read_bytes(), chance, 16)):
        (folder / f"M{i:02d}-{MONTH}.xlsx").write_bytes(data)
    mark = uuid.uuid4().hex
    environ = {k: v for k, v in os.environ.items() if k not in ("PBR_CONFIG", "PBR_LEDGER")}
    environ.update(PBR_CACHE="off", PBR_WORKERS="2", PBR_READER_SECONDS="10",
                   PBR_TEST_RUN=mark)
    try:
        proc = subprocess.run([sys.executable, "-m", "pbr_cli", "validate", str(folder), "-m",
                               SCHEME, "--json", "--config", str(_council(tmp_path / "c"))],
                              env=environ, capture_output=True, text=True, timeout=45)
    except subprocess.TimeoutExpired:
        for pid in _marked(mark):
            os.kill(pid, signal.SIGKILL)
        pytest.fail(f"validate hung (seed {seed}, PBR_CHAOS_SEED)")
    assert proc.returncode in (0, 1, 2), (seed, proc.stderr)
    assert "Traceback" not in proc.stderr, (seed, proc.stderr)
    files = json.loads(proc.stdout)["files"]
    assert len(files) == 16, seed
    deadline = time.monotonic() + 3
    while _marked(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked(mark) == [], seed


# -- the pool itself, with work that crashes, stalls, stops and fails on purpose ------------------

def _odd_work(item: str):
    """What a worker does with each item of the tests below."""
    if item == "abort":
        import faulthandler

        faulthandler.disable()  # as a worker reading returns: nothing said on the way down
        os.abort()
    if item == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    if item == "sleep":
        time.sleep(600)
    if item == "memory":
        raise MemoryError
    if item == "fail":
        raise ValueError("a failure of pbr's own")
    if item == "large":
        return b"x" * (5 * 2**20)  # many times a pipe's buffer
    if item.startswith("write:"):  # a cache entry whose writing never ends
        from pbr_cli.cache import ReturnCache

        ReturnCache(Path(item[len("write:"):])).put("0d" + "0" * 62, _Stalls())
    if item.startswith("ctrl-c:"):  # Ctrl-C reaches the worker halfway through an entry
        from pbr_cli.cache import ReturnCache

        ReturnCache(Path(item[len("ctrl-c:"):])).put("0d" + "0" * 62, _Interrupted())
    return item.upper()


class _Stalls:
    """A value whose pickling never ends: a worker writing it is killed halfway."""

    def __reduce__(self):
        time.sleep(600)
        return (str, ("",))


class _Interrupted:
    """A value whose pickling is cut short by SIGINT, as Ctrl-C reaches every process of the
    terminal's group: the worker ends by the signal itself, not killed by the pool."""

    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(600)
        return (str, ("",))


def test_the_pool_answers_every_item_and_leaves_no_worker():
    from pbr_cli.workers import Lost, Workers

    items = ["a", "abort", "b", "stop", "sleep", "large", "memory", "c"]
    before = _below(os.getpid())  # (another test's helper, e.g. a spreadsheet program, kept)
    started = time.monotonic()
    with Workers(_odd_work, items, 3, seconds=1.5) as pool:
        answers = dict(pool.answers())
        workers = {h.process.pid for h in pool._hands}
    taken = time.monotonic() - started
    assert answers[0] == "A" and answers[2] == "B" and answers[7] == "C"
    assert answers[5] == b"x" * (5 * 2**20)
    assert answers[1] == Lost("crashed", signal_name="SIGABRT")  # twice: in two workers
    assert answers[3] == answers[4] == Lost("deadline", 1.5)
    assert answers[6] == Lost("memory")
    assert taken < 10, taken  # the two stalled items' deadlines run side by side
    assert not any(_stat(pid) and _stat(pid)[0] != "Z" for pid in workers)
    assert _below(os.getpid()) - before == set()


def test_a_failure_of_pbrs_own_in_a_worker_is_raised_with_where_it_happened():
    from pbr_cli.workers import Workers

    before = _below(os.getpid())  # (another test's helper, e.g. a spreadsheet program, kept)
    pool = Workers(_odd_work, ["a", "fail", "b"], 1, seconds=30)
    with pytest.raises(ValueError, match="a failure of pbr's own") as raised:
        list(pool.answers())
    assert "_odd_work" in str(raised.value.__cause__)  # the worker's traceback
    assert _below(os.getpid()) - before == set()


def test_an_answer_is_gathered_as_it_arrives_never_waited_for():
    """A worker stopped halfway through writing its answer must not hold pbr: the parent's end
    takes what has arrived and says the answer is not whole yet."""
    import multiprocessing
    import pickle
    import struct

    from pbr_cli.workers import _Channel

    mine, theirs = multiprocessing.Pipe(duplex=True)
    channel = _Channel(mine)
    data = pickle.dumps(("done", b"y" * 300_000))
    frame = struct.pack("!Q", len(data)) + data
    half = len(frame) // 2
    writer = threading.Thread(target=lambda: os.write(theirs.fileno(), frame[:half]))
    writer.start()
    while writer.is_alive():
        assert channel.take() is None  # never blocks, never a part for the whole
    writer.join()
    assert channel.take() is None and len(channel.buffer) == half  # half an answer, kept
    os.write(theirs.fileno(), frame[half:])
    deadline = time.monotonic() + 5
    while (got := channel.take()) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got == ("done", b"y" * 300_000)
    theirs.close()
    with pytest.raises(EOFError):
        channel.take()
    channel.close()


def test_a_worker_killed_while_writing_a_cache_entry_leaves_nothing_once_pbr_is_done(tmp_path):
    """A stop at a random moment (tests/test_signals.py) left `cache/0d/.xxx.tmp`: the pool
    killed a worker in the middle of writing a cache entry, and its file stayed. A half-made
    entry is named by its writer's pid; pbr removes those of the workers it killed."""
    from pbr_cli.cache import remove_left_by
    from pbr_cli.workers import KILLED, Lost, Workers

    folder = tmp_path / "cache"
    with Workers(_odd_work, [f"write:{folder}", "a"], 2, seconds=2) as pool:
        answers = dict(pool.answers())
    assert answers == {0: Lost("deadline", 2), 1: "A"}
    left = sorted(p.name for p in folder.rglob("*.tmp"))
    assert len(left) == 1 and left[0].startswith("."), left  # the killed writer's half
    assert remove_left_by(folder, set(KILLED)) == 1
    assert list(folder.rglob("*.tmp")) == []
    KILLED.clear()


def test_a_worker_ended_by_ctrl_c_while_writing_a_cache_entry_leaves_nothing(tmp_path):
    """A Ctrl-C at 0.99 s of `pbr calculate` (tests/test_signals.py, seed 4081152434) left
    `cache/b8/.PID-*.tmp`: the signal ended a worker halfway through a cache entry by itself,
    before the pool killed it, so its pid was not among those whose half-made files pbr
    removes. A worker that ends other than by finishing is counted with the killed."""
    from pbr_cli.cache import remove_left_by
    from pbr_cli.workers import KILLED, Lost, Workers

    folder = tmp_path / "cache"
    KILLED.clear()
    with Workers(_odd_work, [f"ctrl-c:{folder}", "a"], 2, seconds=30) as pool:
        answers = dict(pool.answers())
    assert answers == {0: Lost("crashed", signal_name="SIGINT"), 1: "A"}
    left = sorted(p.name for p in folder.rglob("*.tmp"))
    assert len(left) == 2, left  # the first worker's half, and the one it was given to again
    assert remove_left_by(folder, set(KILLED)) == 2
    assert list(folder.rglob("*.tmp")) == []
    KILLED.clear()

"""Worker processes that cannot stall pbr: each ends on SIGTERM and SIGINT, dies with the pbr
that started it, and is killed when the item in its hands passes its deadline.

pbr reads returns and runs a forecast's simulations in worker processes. A forked worker
inherits pbr's own handler of SIGTERM and SIGINT, which turns a signal into pbr's
"interrupted": a worker terminated by the system would hand that back as its answer, or hang
writing it to a pipe nobody reads. `die_with_parent` gives a worker the plain handling back
(the signal ends it), and asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG,
on Linux; elsewhere a thread of the worker watches its parent), since a parent killed outright
(SIGKILL, the out-of-memory killer) runs no code of its own.

`Workers` hands items to worker processes one at a time and never waits on one that does not
answer: an item whose worker dies (a crash, or killed) is given once more to a fresh worker,
then reported as `Lost`; an item not answered within its deadline is `Lost` at once, its
worker killed. Answers are read as they arrive, in pieces (on POSIX), so a worker stopped
halfway through its answer holds nothing up either.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
_STOPS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT") if hasattr(signal, name))


def die_with_parent(parent: int) -> None:
    """In a worker (a pool's initializer, or a process's first step): end on SIGTERM and
    SIGINT as a plain process does, be killed when `parent` dies, and exit at once if it has
    died already (before this was asked)."""
    for sig in _STOPS:
        signal.signal(sig, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # blocked by Workers while it forked this one
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
    if not _kill_me_with(parent):
        _watch(parent)
    if os.getppid() != parent:
        os._exit(1)


def _kill_me_with(parent: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    """Exit when the parent has gone (checked every second), where the kernel cannot be
    asked to kill this process with it."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="pbr-parent-watch").start()


@dataclass(frozen=True)
class Lost:
    """An item its worker gave no answer for: `how` is "deadline" (not answered within
    `seconds`), "crashed" (the worker died: `signal_name`, or `exit_code`) or "memory" (it
    ran out of its memory limit)."""

    how: str
    seconds: float = 0
    signal_name: str = ""
    exit_code: int | None = None


@dataclass
class _Hand:
    """One worker process and the item in its hands."""

    process: Any
    channel: _Channel
    item: int | None = None  # its position in the items
    since: float = 0.0  # when it was handed over
    fresh: bool = True  # has answered nothing yet


# The workers this process killed, or that ended otherwise than by finishing, while they
# might have been writing (their half-made files are found by their pid).
KILLED: set[int] = set()


class Workers:
    """Call `work(item)` for each item in `count` worker processes (forked where the system
    forks safely, Linux; else started afresh), after `start(*start_args)` in each. The answers
    come from `answers()` (or `pump()`) as (position, answer or Lost), as they arrive; an
    exception `work` raises is raised here. `close()` (also on leaving a `with`) kills the
    workers still running; nothing is left behind."""

    def __init__(self, work: Callable[[Any], Any], items: list, count: int, seconds: float,
                 start: Callable[..., None] | None = None, start_args: tuple = ()):
        import multiprocessing

        self._method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._context = multiprocessing.get_context(self._method)
        self._work, self._start, self._start_args = work, start, start_args
        self._items, self._seconds = items, seconds
        self._waiting: deque[int] = deque(range(len(items)))
        self._again: deque[int] = deque()  # lost by a worker that died: once more, alone
        self._tried: set[int] = set()
        self._hands: list[_Hand] = []
        self._ready: deque[tuple[int, Any]] = deque()
        self._left = len(items)
        self._pumped = 0.0
        try:
            for _ in range(min(max(1, count), len(items))):
                self._hire()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def answers(self) -> Iterator[tuple[int, Any]]:
        while self._left:
            if not self._ready:
                if not self._pending() and all(h.item is None for h in self._hands):
                    raise RuntimeError("workers: an item was neither answered nor lost")
                self._step(self._timeout())
            while self._ready:
                self._left -= 1
                yield self._ready.popleft()
        self.close()

    def pump(self) -> list[tuple[int, Any]]:
        """The answers that have arrived (without waiting), handing out more work; at most
        every few milliseconds (a caller may ask between every two things it does)."""
        now = time.monotonic()
        if now - self._pumped < 0.005:
            return []
        self._pumped = now
        self._step(0)
        got = list(self._ready)
        self._ready.clear()
        self._left -= len(got)
        return got

    def close(self) -> None:
        for hand in self._hands:
            if hand.item is None and hand.process.is_alive():
                try:
                    hand.channel.put(None, time.monotonic() + 0.1)  # done: exit
                except OSError:
                    pass
        ends = time.monotonic() + 1
        for hand in self._hands:
            hand.process.join(max(0.0, ends - time.monotonic()) if hand.item is None else 0)
            _end(hand)
        self._hands = []

    # -- the parent's side ------------------------------------------------------------------

    def _hire(self) -> None:
        """Start a worker and hand it its first item."""
        mine, theirs = self._context.Pipe(duplex=True)
        blocked = self._method == "fork" and hasattr(signal, "pthread_sigmask")
        if blocked:  # pbr's handler must not run in the child before it is replaced
            before = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            process = self._context.Process(  # type: ignore[attr-defined]
                target=_serve, name="pbr-worker", daemon=True,
                args=(theirs, os.getpid(), self._work, self._start, self._start_args))
            if self._method == "fork":
                import gc

                gc.freeze()  # a forked worker's collector leaves what it inherits alone
                try:
                    process.start()
                finally:
                    gc.unfreeze()
            else:
                process.start()
            theirs.close()
            hand = _Hand(process, _Channel(mine))
            self._hands.append(hand)  # known before a stop asked for meanwhile is raised
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_SETMASK, before)
        self._give(hand)

    def _give(self, hand: _Hand) -> None:
        """Hand an idle worker the next item: one lost by a worker that died goes to a fresh
        worker first."""
        first, then = (self._again, self._waiting) if hand.fresh else (self._waiting, self._again)
        queue = first or then
        if not queue:
            return
        hand.item, hand.since = queue.popleft(), time.monotonic()
        if not hand.channel.put(self._items[hand.item], hand.since + self._seconds):
            self._lose(hand, Lost("deadline", self._seconds))

    def _pending(self) -> bool:
        return bool(self._waiting or self._again)

    def _timeout(self) -> float | None:
        busy = [h.since + self._seconds for h in self._hands if h.item is not None]
        return max(0.0, min(busy) - time.monotonic()) if busy else None

    def _step(self, timeout: float | None) -> None:
        """Wait up to `timeout` for an answer or a worker's end; take what came; kill the
        workers past their deadline; keep every item in a worker's hands."""
        from multiprocessing.connection import wait

        self._hand_out()
        watched: dict[Any, _Hand] = {}
        for hand in self._hands:
            watched[hand.channel.waitable()] = hand
            watched[hand.process.sentinel] = hand
        if not watched:
            return
        if timeout is None:  # every worker idle: nothing to wait for but their ends
            timeout = 0
        for ready in wait(list(watched), timeout):
            hand = watched[ready]
            if hand in self._hands:
                self._take(hand)
        now = time.monotonic()
        for hand in list(self._hands):
            if hand.item is not None and now - hand.since >= self._seconds:
                self._lose(hand, Lost("deadline", self._seconds))
        self._hand_out()

    def _hand_out(self) -> None:
        for hand in list(self._hands):
            if not self._pending():
                return
            if hand.item is None:
                self._give(hand)
        if self._pending() and not self._hands:
            self._hire()

    def _take(self, hand: _Hand) -> None:
        """What a worker has sent or become: an answer (it takes the next item), or its
        end."""
        try:
            answer = hand.channel.take()
            gone = False
        except (EOFError, OSError):
            answer, gone = None, True
        if answer is not None and hand.item is not None:
            kind, value = answer
            item, hand.item, hand.fresh = hand.item, None, False
            if kind == "raised":
                self.close()
                raised, text = value
                raise raised from _Remote(text)
            if kind == "memory":
                self._died(hand, item, Lost("memory"))
                return
            self._ready.append((item, value))
            if not hand.process.is_alive():  # it answered, then was killed
                self._died(hand, None, None)
                return
            self._give(hand)
        elif gone or not hand.process.is_alive():
            self._died(hand, hand.item, None)

    def _died(self, hand: _Hand, item: int | None, lost: Lost | None) -> None:
        """A worker has ended (or is to end): its item is given once more to a fresh worker,
        or lost."""
        hand.item = None
        _end(hand)
        self._hands.remove(hand)
        if item is not None:
            if item in self._tried:
                self._ready.append((item, lost or _how_it_died(hand.process)))
            else:
                self._tried.add(item)
                self._again.append(item)
        if self._pending():
            self._hire()

    def _lose(self, hand: _Hand, lost: Lost) -> None:
        item, hand.item = hand.item, None
        _end(hand)
        self._hands.remove(hand)
        if item is not None:
            self._ready.append((item, lost))
        if self._pending():
            self._hire()


def _end(hand: _Hand) -> None:
    """Kill the worker (if it is still running) and wait for it to go. A worker pbr killed,
    or one that ended other than by finishing (a signal of anyone's: Ctrl-C reaches every
    process of the terminal's group, and may end a worker before pbr does), is then among
    KILLED: what it was writing may be left half-made (pbr_cli.cache.remove_left_by)."""
    if hand.process.exitcode is None:
        KILLED.add(hand.process.pid)
        try:
            hand.process.kill()  # SIGKILL ends a stopped process too
        except OSError:
            pass
        hand.process.join(5)
    elif hand.process.exitcode != 0:
        KILLED.add(hand.process.pid)
    hand.channel.close()


def _how_it_died(process) -> Lost:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return Lost("crashed", signal_name=signal.Signals(-code).name)
        except ValueError:
            pass
    return Lost("crashed", exit_code=code)


# -- a worker's side ----------------------------------------------------------------------------

def _serve(channel, parent: int, work, start, start_args) -> None:
    """A worker's life: its items one at a time, each answer ("done", value), ("raised", an
    exception of pbr's own) or ("memory", None), until told it is done."""
    die_with_parent(parent)
    if start is not None:
        start(*start_args)
    while True:
        item = _receive(channel)
        if item is None:
            return
        try:
            answer: tuple[str, Any] = ("done", work(item))
        except MemoryError:
            _send(channel, ("memory", None))
            return
        except Exception as exc:  # noqa: BLE001 - pbr's own failure: raised in pbr
            answer = ("raised", _portable(exc))
        _send(channel, answer)


def _portable(exc: Exception) -> tuple[Exception, str]:
    """The exception and its traceback in this process as text (raised in pbr with the text
    as its cause, as the standard pool does), or a RuntimeError in its place where the
    exception cannot be sent."""
    import traceback

    text = "".join(traceback.format_exception(exc))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception that does not survive the trip
        return RuntimeError(f"in a worker: {exc!r}"), text
    return exc, text


class _Remote(Exception):
    def __init__(self, text: str):
        super().__init__(text)

    def __str__(self) -> str:
        return f"\n'''\n{self.args[0]}'''"


_RAW = os.name == "posix"  # pipes are file descriptors: answers are read in pieces
_HEADER = struct.Struct("!Q")


def _send(channel, value: Any) -> None:
    try:
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - an answer that cannot be sent is pbr's failure
        data = pickle.dumps(("raised", (RuntimeError(f"an answer could not be sent: {exc!r}"), "")))
    if not _RAW:
        channel.send_bytes(data)
        return
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(channel.fileno(), view):]


def _receive(channel) -> Any:
    if not _RAW:
        return pickle.loads(channel.recv_bytes())
    fd = channel.fileno()
    size = _HEADER.unpack(_read_exactly(fd, _HEADER.size))[0]
    return pickle.loads(_read_exactly(fd, size))


def _read_exactly(fd: int, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        piece = os.read(fd, size - len(got))
        if not piece:
            raise EOFError
        got += piece
    return bytes(got)


class _Channel:
    """The parent's end of a worker's pipe. On POSIX it never blocks: an answer is gathered
    from what has arrived, and `take` gives None until the whole of it has."""

    def __init__(self, connection):
        self.connection = connection
        self.buffer = bytearray()
        if _RAW:
            os.set_blocking(connection.fileno(), False)

    def waitable(self) -> Any:
        return self.connection

    def put(self, value: Any, until: float) -> bool:
        """Send `value`; False if it could not be sent before `until` (the worker is not
        reading)."""
        data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        if not _RAW:
            self.connection.send_bytes(data)
            return True
        import select

        view = memoryview(_HEADER.pack(len(data)) + data)
        fd = self.connection.fileno()
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                if time.monotonic() >= until:
                    return False
                select.select([], [fd], [], max(0.0, until - time.monotonic()))
            except OSError:  # the worker has gone: said by its end
                return True
        return True

    def take(self) -> Any:
        """The answer, once all of it has arrived (else None). EOFError: the worker has gone
        without answering."""
        if not _RAW:
            return pickle.loads(self.connection.recv_bytes())
        fd = self.connection.fileno()
        while True:
            try:
                piece = os.read(fd, 1 << 20)
            except BlockingIOError:
                break
            if not piece:
                if self._whole() is None:
                    raise EOFError
                break
            self.buffer += piece
        return self._whole()

    def _whole(self) -> Any:
        if len(self.buffer) < _HEADER.size:
            return None
        size = _HEADER.unpack_from(self.buffer)[0]
        if len(self.buffer) < _HEADER.size + size:
            return None
        data = bytes(self.buffer[_HEADER.size:_HEADER.size + size])
        del self.buffer[:_HEADER.size + size]
        return pickle.loads(data)

    def close(self) -> None:
        try:
            self.connection.close()
        except OSError:
            pass

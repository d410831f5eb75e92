"""An oracle of what a person sees in a return, independent of pbr's reader: LibreOffice Calc
opens the file and says, cell by cell, the text it shows and whether it can be seen at all
(uno_render.py); pbr says what it takes from each cell (paid.py); `compare` lists every
value pbr would pay on that is not what is shown, and every cell not seen that pbr did not
refuse.

The rule compared against is docs/limits.md, "What a person reviewing the return can see":
pbr pays only on what a person opening the return sees. A cell is not seen when its row or
column is hidden or of almost no size, its sheet is hidden, it is covered by a merged cell,
its text is the colour of its background (after number-format colours and conditional
formats), or its font is under 4 pt.

One soffice process serves a test session (`Office`), with its own profile under /tmp, the
locale en-GB (dates as a reviewer in England reads them), every call under a timeout, and
it is killed at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LOCALE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooSetupSystemLocale" oor:op="fuse">\
<value>en-GB</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooLocale" oor:op="fuse">\
<value>en-GB</value></prop></item>
</oor:items>
"""


def uno_python() -> str | None:
    """A Python that can import LibreOffice's uno module (this one, or the system's)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if not Path(candidate).exists():
            continue
        try:
            done = subprocess.run([candidate, "-c", "import uno"], capture_output=True,
                                  timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return candidate
    return None


def why_no_office() -> str | None:
    """Why LibreOffice cannot render here, or None when it can."""
    if shutil.which("soffice") is None:
        return "LibreOffice (soffice) is not on the PATH"
    if uno_python() is None:
        return ("LibreOffice's Python bridge (uno) is missing: apt-get install python3-uno")
    return None


class Office:
    """One headless soffice, its own profile, rendering files on request."""

    def __init__(self) -> None:
        self.python = uno_python()
        self.folder = Path(tempfile.mkdtemp(prefix="asshown-office-"))
        self.proc: subprocess.Popen | None = None
        self.pipe = ""
        self.restarts = 0
        self.server: subprocess.Popen | None = None  # the renderer, connected
        self.cpu_used = 0.0  # by the soffice processes stopped so far

    def start(self, seconds: float = 90) -> None:
        user = self.folder / "profile" / "user"
        user.mkdir(parents=True, exist_ok=True)
        (user / "registrymodifications.xcu").write_text(LOCALE, encoding="utf-8")
        self.pipe = f"asshown_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.proc = subprocess.Popen(
            ["soffice", f"-env:UserInstallation=file://{self.folder}/profile", "--headless",
             "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
             f"--accept=pipe,name={self.pipe};urp;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                done = subprocess.run([self.python, str(HERE / "uno_render.py"), self.pipe],
                                      capture_output=True, timeout=30)
                if done.returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("LibreOffice did not start listening in time")

    def pids(self) -> list[int]:
        """Every process of this soffice (found by its own profile folder)."""
        out = []
        marker = str(self.folder).encode()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if marker in (entry / "cmdline").read_bytes():
                        out.append(int(entry.name))
                except OSError:
                    continue
        return out

    def cpu_seconds(self) -> float:
        """CPU time soffice has used so far (user and system)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids():
            try:
                fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                continue
        return total

    def stop(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait(timeout=30)
            self.server = None
        if self.proc is not None:
            self.cpu_used += self.cpu_seconds()
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        for pid in self.pids():  # a soffice.bin that left the group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def render(self, files: list[Path], seconds_each: float = 30) -> dict[str, dict]:
        """Each file's rendering, by path, from a renderer that stays connected; a file Calc
        stalls or crashes on is given as an error, and Calc is started again."""
        out: dict[str, dict] = {}
        for f in files:
            path = str(Path(f).resolve())
            if self.proc is None or self.proc.poll() is not None:
                self.stop()
                self.start()
                self.restarts += 1
            if self.server is None:
                self.server = subprocess.Popen(
                    [self.python, str(HERE / "uno_render.py"), self.pipe, "--serve"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                    text=True)
                if _line_within(self.server, 60) is None:
                    self.stop()
                    out[path] = {"file": path, "error": "the renderer did not connect",
                                 "sheets": []}
                    continue
            assert self.server.stdin is not None
            try:
                self.server.stdin.write(path + "\n")
                self.server.stdin.flush()
            except OSError:
                pass
            answer = _line_within(self.server, seconds_each)
            if answer is None:  # Calc stalled or crashed on it: said, and started afresh
                out[path] = {"file": path, "error": "LibreOffice stalled or crashed on it",
                             "sheets": []}
                self.stop()
            else:
                out[path] = answer
        return out


_SHARED: list[Office] = []


def shared_office(config) -> Office:
    """The one soffice of a test session (of each worker process under xdist), started on
    first use and killed when the session ends (pytest's config cleanup), with a check that
    none of its processes is left."""
    if not _SHARED:
        office = Office()
        office.start()
        _SHARED.append(office)

        def close() -> None:
            office.close()
            _SHARED.clear()
            if office.pids():
                raise RuntimeError(f"soffice was left running: {office.pids()}")

        config.add_cleanup(close)
    return _SHARED[0]


def _line_within(proc: subprocess.Popen, seconds: float) -> dict | None:
    """The next JSON line the renderer prints, or None when none comes within `seconds`."""
    import selectors

    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        if not sel.select(timeout=seconds):
            return None
        line = proc.stdout.readline()
    finally:
        sel.close()
    return json.loads(line) if line.strip() else None


# -- what pbr takes -------------------------------------------------------------------------

@dataclass
class Checked:
    results: dict[str, dict]
    seconds: float
    tracebacks: list[str]
    left: list[int]  # processes of the run left behind


def pbr_checks(files: list[Path], register: Path | None = None, seconds: float = 120,
               reader_seconds: int = 30) -> Checked:
    """What pbr takes from each file (tests/shown/paid.py, a subprocess like the user's
    pbr), with a timeout; the processes it started are looked for afterwards."""
    marker = uuid.uuid4().hex
    env = dict(os.environ, PBR_READER_SECONDS=str(reader_seconds), ASSHOWN_RUN=marker)
    args = [sys.executable, "-m", "tests.shown.paid"]
    if register is not None:
        args += ["--register", str(register)]
    start = time.monotonic()
    try:
        done = subprocess.run(args + [str(f) for f in files], capture_output=True, text=True,
                              timeout=seconds, cwd=ROOT, env=env)
        stdout, stderr = done.stdout, done.stderr
    except subprocess.TimeoutExpired as e:
        stdout = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = f"timed out after {seconds} s"
    took = time.monotonic() - start
    results = {}
    for line in stdout.splitlines():
        d = json.loads(line)
        results[str(Path(d["file"]).resolve())] = d
    tracebacks = [stderr[-3000:]] if "Traceback" in stderr or "timed out" in stderr else []
    return Checked(results, took, tracebacks, processes_marked(marker))


def pbr_validate(files: list[Path], seconds: float = 120, reader_seconds: int = 30) -> list[str]:
    """`pbr validate --json` on the files, as a user runs it: what went wrong, if anything (a
    traceback, no JSON, an undocumented exit code, no answer in time, a process left)."""
    marker = uuid.uuid4().hex
    env = dict(os.environ, PBR_READER_SECONDS=str(reader_seconds), ASSHOWN_RUN=marker)
    pbr = Path(sys.executable).with_name("pbr")
    args = [str(pbr) if pbr.exists() else "pbr", "validate", "--json", *map(str, files)]
    wrong = []
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=seconds, cwd=ROOT,
                              env=env)
    except subprocess.TimeoutExpired:
        wrong.append(f"pbr validate gave no answer in {seconds} s")
    else:
        if "Traceback" in done.stderr or "Traceback" in done.stdout:
            wrong.append("pbr validate: " + done.stderr[-2000:])
        if done.returncode not in (0, 1, 2):
            wrong.append(f"pbr validate ended with exit code {done.returncode}: {done.stderr[-500:]}")
        try:
            json.loads(done.stdout)
        except ValueError:
            wrong.append(f"pbr validate --json printed no JSON: {done.stdout[:300]!r}")
    left = processes_marked(marker)
    if left:
        wrong.append(f"pbr validate left processes running: {left}")
    return wrong


def processes_marked(marker: str) -> list[int]:
    """Processes whose environment holds ASSHOWN_RUN=marker (those a run started)."""
    needle = f"ASSHOWN_RUN={marker}".encode()
    found = []
    deadline = time.monotonic() + 5
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if needle in (entry / "environ").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# -- the comparison -------------------------------------------------------------------------

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%b-%Y", "%d-%b-%y", "%d %b %Y",
                "%d %B %Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%d %b %y", "%Y-%m-%d %H:%M:%S",
                "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"]


def shown_number(text: str) -> Decimal | None:
    t = text.strip().replace(",", "").replace("£", "").replace("$", "").replace("\u00a0", "")
    t = t.replace(" ", "")
    negative = t.startswith("(") and t.endswith(")")
    if negative:
        t = t[1:-1]
    percent = t.endswith("%")
    if percent:
        t = t[:-1]
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", t):
        return None
    try:
        n = Decimal(t)
    except InvalidOperation:
        return None
    n = -n if negative else n
    return n / 100 if percent else n


def shown_date(text: str) -> set[dt.date]:
    found = set()
    for f in DATE_FORMATS:
        try:
            found.add(dt.datetime.strptime(text.strip(), f).date())
        except ValueError:
            continue
    return found


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip()


def matches(value: dict[str, Any], text: str) -> bool:
    kind, v = value["kind"], value["value"]
    if kind == "text":
        return nfkc(text) == nfkc(str(v))
    if kind == "number":
        n = shown_number(text)
        return n is not None and n == Decimal(v)
    if kind in ("date", "datetime"):
        return dt.date.fromisoformat(str(v)[:10]) in shown_date(text)
    if kind == "bool":
        return text.strip().upper() == ("TRUE" if v else "FALSE")
    return False


@dataclass
class Finding:
    cell: str  # Sheet!B2
    what: str
    refused: bool  # pbr refused it (an error naming it, or the file unusable)

    def __str__(self) -> str:
        return f"{self.cell}: {self.what}" + (" (refused)" if self.refused else "")


def names_cell(problem: dict, sheet: str, cell: str) -> bool:
    """Whether an error names the cell, its row, its column or its sheet."""
    named = problem.get("cell")
    if not named:
        return False
    m = re.fullmatch(r"([A-Z]+)(\d+)", cell)
    if not m:
        return False
    letters, row = m.groups()
    return named in (f"{sheet}!{cell}", f"{sheet}!{row}", f"{sheet}!{letters}:{letters}", sheet)


def _anchor(cell: dict) -> str:
    """The merged cell covering a cell (an error naming the merge names what it hides)."""
    m = re.search(r"covered by the merged cell ([A-Z]+\d+)", cell["why"])
    return m.group(1) if m else "A0"


def compare(pbr: dict, shown: dict) -> list[Finding]:
    """Every value pbr takes that is not what the sheet shows, and every cell not seen (on a
    sheet pbr pays from) or shown as something else; each marked refused when pbr refused
    the file or named the cell in an error."""
    unusable = pbr["status"] == "unusable"
    errors = [p for p in pbr["problems"] if p["severity"] in ("error", "fatal")]

    def refused(sheet: str, cell: str) -> bool:
        return unusable or any(names_cell(p, sheet, cell) for p in errors)

    findings: list[Finding] = []
    if shown.get("error"):  # Calc could not open it
        if not unusable and pbr["values"]:
            findings.append(Finding("the file", f"pbr reads a file Calc cannot open "
                                    f"({shown['error']})", False))
        return findings
    sheets = {s["name"]: s for s in shown["sheets"]}
    read = sorted({v["sheet"] for v in pbr["values"]})
    for name in read:
        if name not in sheets:
            findings.append(Finding(name, "pbr reads a sheet Calc does not show", unusable))
        elif not sheets[name]["visible"]:
            findings.append(Finding(name, "pbr reads a hidden sheet", refused(name, "A1")))
    for v in pbr["values"]:
        sheet = sheets.get(v["sheet"])
        if sheet is None:
            continue
        cell = sheet["cells"].get(v["cell"])
        where = f"{v['sheet']}!{v['cell']}"
        if v["value"] is None:
            if cell and cell["seen"] and cell["text"].strip():
                findings.append(Finding(where, f"pbr reads nothing where the sheet shows "
                                        f"{cell['text']!r}", refused(v["sheet"], v["cell"])))
            continue
        if cell is None:
            findings.append(Finding(where, f"pbr takes {v['value']['value']!r} where the sheet "
                                    "shows nothing", refused(v["sheet"], v["cell"])))
        elif not cell["seen"]:
            findings.append(Finding(where, f"pbr takes {v['value']['value']!r} from a cell not "
                                    f"seen ({cell['why']})", refused(v["sheet"], v["cell"])
                                    or refused(v["sheet"], _anchor(cell))))
        elif not matches(v["value"], cell["text"]):
            findings.append(Finding(where, f"pbr takes {v['value']['value']!r} where the sheet "
                                    f"shows {cell['text']!r}", refused(v["sheet"], v["cell"])))
    taken = {(v["sheet"], v["cell"]) for v in pbr["values"]}
    # the sheets pbr reads; when it took nothing (the file refused first), every sheet
    for name in read or [s for s in sheets if s != "Codes"]:
        if name not in sheets:
            continue
        for ref, cell in sheets[name]["cells"].items():
            if (name, ref) in taken or cell["seen"] or not cell["text"].strip():
                continue
            findings.append(Finding(f"{name}!{ref}", f"holds {cell['text']!r}, not seen "
                                    f"({cell['why']})", refused(name, ref)
                                    or refused(name, _anchor(cell))))
    if pbr.get("provider") and "Cover" in sheets:
        cover = sheets["Cover"]
        texts = [nfkc(c["text"]) for c in cover["cells"].values() if c["seen"]]
        if not cover["visible"] or nfkc(pbr["provider"]) not in texts:
            findings.append(Finding("Cover", f"the provider {pbr['provider']!r} pbr takes is not "
                                    "shown on the Cover", unusable))
    return findings


def unrefused(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.refused]

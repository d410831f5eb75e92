"""Mutants of the shipped returns, changed where a damaged or hand-edited file would be (in
their XML and their zip), each checked by `pbr validate` as a user runs it: every distinct
message of a refusal or error, and which of them speak of a library rather than of the file.

    python -m tests.message_sweep [COUNT] [SEED]

prints the distinct messages (digits and file names generalised) and the count of those that
name a Python or library exception, a module path or a traceback. tests/test_messages.py runs
a few dozen mutants of the same kinds.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "sample_returns" / "birmingham-90-10" / "2013-06").glob("*.xlsx"))[:6]
MODEL = "birmingham-90-10"

# What a message must never hold: an exception's class name (CamelCase ending in Error or
# Exception, or a bare "Error -3"), a module path (zipfile.BadZipFile, xml.etree...), a
# library's name, or a traceback.
LIBRARY_WORDS = re.compile(
    r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning)\b|\bError\s*-?\d|Traceback|"
    r"\b[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_.]*\.?[A-Z]\w+|"
    r"\b(?:calamine|openpyxl|zlib|defusedxml|expat|pyexpat|zipfile|BadZipFile|Panic|"
    r"python_calamine|numpy|pandas)\b")


def names_a_library(message: str) -> bool:
    return LIBRARY_WORDS.search(message) is not None


def _parts(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    src = zipfile.ZipFile(BytesIO(data))
    return [(info, src.read(info)) for info in src.infolist()]


def _zip(parts: list[tuple[str, bytes]]) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, body in parts:
            dst.writestr(name, body)
    return out.getvalue()


def _tags(body: bytes) -> list[re.Match]:
    return list(re.finditer(rb"<(/?)([\w:]+)([^<>]*?)(/?)>", body))


def _xml_mutation(rng: random.Random, body: bytes) -> bytes:
    tags = _tags(body)
    kind = rng.randrange(12)
    if not tags:
        return body[: rng.randrange(len(body) + 1)]
    m = rng.choice(tags)
    if kind == 0:  # cut short
        return body[: rng.randrange(len(body) + 1)]
    if kind == 1:  # a closing tag lost
        closes = [t for t in tags if t.group(1)] or tags
        m = rng.choice(closes)
        return body[: m.start()] + body[m.end():]
    if kind == 2:  # a stray character
        at = rng.randrange(len(body))
        return body[:at] + rng.choice([b"<", b"&", b'"', b"\x00", b">", b"</", b"&#0;",
                                       b"\xff"]) + body[at:]
    if kind == 3:  # a tag renamed
        new = rng.choice([b"x", b"c", b"row", b"v", b"f", b"is", b"sheetData"])
        return body[: m.start(2)] + new + body[m.end(2):]
    if kind == 4:  # cells without references
        return re.sub(rb' r="[A-Z]+\d+"', b"", body, count=rng.randrange(1, 50))
    if kind == 5:  # a value replaced
        vals = list(re.finditer(rb"<v>([^<]*)</v>", body))
        if vals:
            v = rng.choice(vals)
            new = rng.choice([b"1E+10", b"-1", b"abc", b"", b"99999999999999999999", b"NaN",
                              b"1e308", b"2958466", b"-700000", b"0.5", b"#N/A"])
            return body[: v.start(1)] + new + body[v.end(1):]
        return body
    if kind == 6:  # an element removed
        return body[: m.start()] + body[m.end():]
    if kind == 7:  # a cell's type changed
        cells = list(re.finditer(rb"<c ([^>]*)>", body))
        if cells:
            c = rng.choice(cells)
            attrs = re.sub(rb' ?t="[^"]*"', b"", c.group(1))
            t = rng.choice([b"e", b"s", b"str", b"b", b"n", b"inlineStr", b"d", b"zz"])
            return body[: c.start()] + b"<c " + attrs + b' t="' + t + b'">' + body[c.end():]
        return body
    if kind == 8:  # a style out of range
        return re.sub(rb' s="\d+"', b' s="%d"' % rng.choice([0, 999, 65536]), body, count=3)
    if kind == 9:  # a formula added
        vals = list(re.finditer(rb"<v>", body))
        if vals:
            v = rng.choice(vals)
            f = rng.choice([b"<f>1+1</f>", b"<f>[1]Sheet1!A1</f>", b"<f>SUM(A1:A2)</f>",
                            b"<f>A1&amp;B1</f>", b"<f/>"])
            return body[: v.start()] + f + body[v.start():]
        return body
    if kind == 10:  # an attribute's quote lost
        quotes = [q.start() for q in re.finditer(rb'"', body)]
        if quotes:
            at = rng.choice(quotes)
            return body[:at] + body[at + 1:]
        return body
    # a far reference
    return body.replace(b' r="A', b' r="XFD', 1)


def _zip_mutation(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:  # cut short
        return data[: rng.randrange(30, len(data))]
    if kind == 1:  # bytes flipped
        out = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            at = rng.randrange(len(out))
            out[at] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == 2:  # a declared size changed in the central directory
        out = bytearray(data)
        at = data.rfind(b"PK\x01\x02", 0, rng.randrange(len(data)) + 1)
        if at < 0:
            at = data.find(b"PK\x01\x02")
        size_at = at + 24
        out[size_at:size_at + 4] = rng.choice([0, 1, 100, 2**31]).to_bytes(4, "little")
        return bytes(out)
    # the end of central directory lost
    end = data.rfind(b"PK\x05\x06")
    return data[:end] if end > 0 else data


def mutant(rng: random.Random, data: bytes) -> bytes:
    if rng.random() < 0.2:
        return _zip_mutation(rng, data)
    parts = _parts(data)
    names = [i.filename for i, _ in parts]
    weights = [6 if n.startswith("xl/worksheets/") else 1 for n in names]
    target = rng.choices(names, weights)[0]
    if target == "xl/workbook.xml" and rng.random() < 0.4:
        return _zip([(i.filename, b.replace(b'name="Cover"', b'name="Front page"')
                      if i.filename == target else b) for i, b in parts])
    return _zip([(i.filename, _xml_mutation(rng, b) if i.filename == target else b)
                 for i, b in parts])


def write_mutants(folder: Path, count: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    sources = [p.read_bytes() for p in SAMPLES]
    paths = []
    for n in range(count):
        path = folder / f"mutant-{n:04d}.xlsx"
        path.write_bytes(mutant(rng, rng.choice(sources)))
        paths.append(path)
    return paths


def messages(folder: Path, timeout: float = 900) -> list[dict]:
    """Every problem `pbr validate --json` reports for the files in `folder`."""
    done = subprocess.run([sys.executable, "-m", "pbr_cli", "validate", str(folder),
                           "--model", MODEL, "--json"], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    found = json.loads(done.stdout)
    return [p for f in found["files"] for p in f["problems"]]


def general(message: str) -> str:
    """A message with its file names, numbers and quoted values made general."""
    message = re.sub(r"\S*mutant-\d+\.xlsx", "FILE", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"\d[\d,.]*", "N", message)


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 300
    seed = int(argv[1]) if len(argv) > 1 else 38
    with tempfile.TemporaryDirectory() as tmp:
        write_mutants(Path(tmp), count, seed)
        found = messages(Path(tmp))
    refusals = [p for p in found if p["severity"] in ("fatal", "error")]
    distinct = sorted({(p["code"], general(p["message"])) for p in refusals})
    bad = {(p["code"], general(p["message"])) for p in refusals if names_a_library(p["message"])}
    for code, text in distinct:
        print(("LIBRARY " if (code, text) in bad else "        ") + f"{code}: {text}")
    print(f"{count} mutants, {len(refusals)} refusals and errors, {len(distinct)} distinct "
          f"messages, {len(bad)} naming a library; refusals naming one: "
          f"{sum(names_a_library(p['message']) for p in refusals)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

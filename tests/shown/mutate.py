"""Mutations of a shipped return at the XML level, for tests/test_as_shown_fuzz.py: attribute
spellings and order, hidden and zero-size rows and columns, rows and cells without `r=`,
number formats, conditional formats, font and fill colours, sheet states and names, shared
strings and styles moved to other part names, damaged zips, huge numbers.

Each mutation takes the parts of a workbook and a random.Random and returns a line saying
what it did (so a failing mutant can be made again from its seed, or read).
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

from tests.shown.hostile import ROOT

BASES = [ROOT / "sample_returns" / p for p in (
    "birmingham-90-10/2013-06/P01-2013-06.xlsx",
    "transforming-rehabilitation/2018-01/CRC01-2018-01.xlsx",
    "troubled-families/2013-09/LA1-2013-09.xlsx")]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
Parts = dict[str, bytes]


def load(path: Path) -> Parts:
    """A sample's parts, its sheets without the template's empty input rows."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name in sheets(parts).values():
        text = parts[name].decode("utf-8")
        text = re.sub(r'<row r="\d+"[^>]*>(?:(?!</row>).)*</row>',
                      lambda m: m.group(0) if "<v>" in m.group(0) else "", text)
        parts[name] = text.encode("utf-8")
    return parts


def entry(name: str, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A zip entry dated 1980-01-01, not now: the same seed and index make the same bytes
    whenever they are made (a name alone takes the clock's time, to two seconds)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compress
    return info


def save(parts: Parts) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(entry(name), data)
    return buf.getvalue()


def sheets(parts: Parts) -> dict[str, str]:
    """Sheet name -> its part, from workbook.xml and its relationships (as the sample has them)."""
    wb = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)})
    out = {}
    for name, rid in re.findall(r'<sheet name="([^"]+)"[^>]*r:id="(rId\d+)"', wb):
        if rid in targets:
            out[name] = "xl/" + targets[rid].lstrip("/").removeprefix("xl/")
    return out


def data_sheet(parts: Parts, rng: random.Random) -> tuple[str, str]:
    found = {n: p for n, p in sheets(parts).items() if n != "Codes" and p in parts}
    name = rng.choice(sorted(n for n in found if n != "Cover") or sorted(found))
    return name, found[name]


def text(parts: Parts, name: str) -> str:
    return parts[name].decode("utf-8")


def put(parts: Parts, name: str, value: str) -> None:
    parts[name] = value.encode("utf-8")


def data_rows(xml: str) -> list[str]:
    return [r for r in re.findall(r'<row r="(\d+)"', xml) if r != "1"]


def value_cells(xml: str) -> list[str]:
    return re.findall(r'<c r="([A-Z]+\d+)"[^>]*>(?:<f>[^<]*</f>)?<v>', xml)


def _pick_row(parts: Parts, rng: random.Random) -> tuple[str, str, str] | None:
    name, part = data_sheet(parts, rng)
    rows = data_rows(text(parts, part))
    return (name, part, rng.choice(rows)) if rows else None


def row_attribute(parts: Parts, rng: random.Random) -> str:
    picked = _pick_row(parts, rng)
    if not picked:
        return "no data row"
    name, part, row = picked
    q = rng.choice(['"', "'"])
    eq = rng.choice(["=", " = ", "=\n"])
    attr = rng.choice([
        f"hidden{eq}{q}1{q}", f"hidden{eq}{q}true{q}", f"hidden{eq}{q} 1{q}",
        f"hidden{eq}{q}True{q}", f"ht{eq}{q}0{q} customHeight{eq}{q}1{q}",
        f"ht{eq}{q}0.0{q} customHeight{eq}{q}true{q}", f"ht{eq}{q}0{q}",
        f"ht{eq}{q}0e0{q} customHeight{eq}{q}1{q}", f"ht{eq}{q}-0{q} customHeight{eq}{q}1{q}",
        f"ht{eq}{q}00{q} customHeight{eq}{q}1{q}", f"customHeight{eq}{q}1{q} ht{eq}{q}0{q}",
        f"ht{eq}{q}0.001{q} customHeight{eq}{q}1{q}", f"hidden{eq}{q}0{q} ht{eq}{q}0{q}",
        f"outlineLevel{eq}{q}1{q} hidden{eq}{q}1{q}", f"x:hidden{eq}{q}1{q}"])
    xml = text(parts, part)
    head = re.search(rf'<row r="{row}"[^>]*>', xml)
    assert head
    attrs = re.findall(r'\s([\w:]+="[^"]*")', head.group(0))
    rng.shuffle(attrs)  # attribute order
    new = f"<row {' '.join(attrs)} {attr}>" if attrs else f'<row r="{row}" {attr}>'
    put(parts, part, xml.replace(head.group(0), new, 1))
    return f"{name} row {row}: {attr!r}, attributes in another order"


def zero_height(parts: Parts, rng: random.Random) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    v = rng.choice(["1", "true", "on"])
    xml = re.sub(r"<sheetFormatPr ", f'<sheetFormatPr zeroHeight="{v}" ', xml, count=1)
    put(parts, part, xml)
    return f"{name}: sheetFormatPr zeroHeight={v!r}"


def column(parts: Parts, rng: random.Random) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    cols = re.findall(r'<col min="(\d+)" max="(\d+)"[^>]*/>', xml)
    if not cols:
        return "no col"
    lo = int(rng.choice(cols)[0])
    hi = lo + rng.choice([0, 0, 1, 5])
    attr = rng.choice(['hidden="1"', 'hidden="true"', "hidden='1'", 'width="0"',
                       'width="0.0" customWidth="1"', 'width="0e0"', 'width="0.01"',
                       'hidden = "1" width="12"', 'width="-1"', 'collapsed="1" hidden="1"'])
    where = rng.choice(["replace", "before", "after"])
    new = f'<col min="{lo}" max="{hi}" {attr}/>'
    old = re.search(rf'<col min="{lo}" max="\d+"[^>]*/>', xml)
    assert old
    if where == "replace":
        xml = xml.replace(old.group(0), new, 1)
    elif where == "before":
        xml = xml.replace(old.group(0), new + old.group(0), 1)
    else:
        xml = xml.replace(old.group(0), old.group(0) + new, 1)
    put(parts, part, xml)
    return f"{name} columns {lo}:{hi}: {attr} ({where} the col element)"


def no_references(parts: Parts, rng: random.Random) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    which = rng.choice(["rows", "cells", "both", "one row"])
    if which in ("rows", "both"):
        xml = re.sub(r'(<row) r="\d+"', r"\1", xml)
    if which in ("cells", "both"):
        xml = re.sub(r'(<c) r="[A-Z]+\d+"', r"\1", xml)
    if which == "one row":
        rows = data_rows(xml)
        if rows:
            r = rng.choice(rows)
            xml = xml.replace(f'<row r="{r}"', "<row", 1)
    put(parts, part, xml)
    return f"{name}: {which} without r="


FORMATS = ['"300"', "0,", ";;;", '"";"";""', "[White]0", "0.0", "#,##0", '[<1000]"45";0',
           '0;-0;"zero"', "@", "yyyy", "General", "0%", '"£"0.00', "[Color2]0", "0;;;",
           ";;;@", "0.00E+00", '0" "', "#", "?", "mm/dd/yyyy", "d", "[Red]0;[White]-0",
           '"12"@', "0,,", '_(0_);(0)', "#,##0.00;(#,##0.00);\"-\""]


def _escape(fmt: str) -> str:
    return fmt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _style(parts: Parts, xf: str, numfmt: str | None = None) -> int:
    st = text(parts, "xl/styles.xml")
    if numfmt is not None:
        m = re.search(r'<numFmts count="(\d+)">', st)
        if m:
            n = int(m.group(1))
            st = st.replace(m.group(0), f'<numFmts count="{n + 1}">', 1).replace(
                "</numFmts>", f'<numFmt numFmtId="{200 + n}" formatCode="{_escape(numfmt)}"/>'
                "</numFmts>", 1)
            xf = xf.replace("NUM", str(200 + n))
        else:
            st = st.replace("<fonts", f'<numFmts count="1"><numFmt numFmtId="200" formatCode='
                            f'"{_escape(numfmt)}"/></numFmts><fonts', 1)
            xf = xf.replace("NUM", "200")
    m = re.search(r'<cellXfs count="(\d+)">', st)
    assert m
    n = int(m.group(1))
    st = st.replace(m.group(0), f'<cellXfs count="{n + 1}">', 1).replace(
        "</cellXfs>", xf + "</cellXfs>", 1)
    put(parts, "xl/styles.xml", st)
    return n


def _restyle(parts: Parts, rng: random.Random, style: int) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    cells = value_cells(xml)
    if not cells:
        return f"{name}: no value cell"
    ref = rng.choice(cells)
    xml = re.sub(rf'<c r="{ref}"( s="\d+")?', f'<c r="{ref}" s="{style}"', xml, count=1)
    put(parts, part, xml)
    return f"{name}!{ref}"


def number_format(parts: Parts, rng: random.Random) -> str:
    if rng.random() < 0.3:
        builtin = rng.choice([1, 2, 3, 4, 9, 10, 11, 12, 14, 15, 22, 37, 38, 45, 46, 47, 48, 49])
        style = _style(parts, f'<xf numFmtId="{builtin}" fontId="0" fillId="0" borderId="0" '
                       'xfId="0" applyNumberFormat="1"/>')
        return f"{_restyle(parts, rng, style)} given the built-in format {builtin}"
    fmt = rng.choice(FORMATS)
    style = _style(parts, '<xf numFmtId="NUM" fontId="0" fillId="0" borderId="0" xfId="0" '
                   'applyNumberFormat="1"/>', fmt)
    return f"{_restyle(parts, rng, style)} formatted {fmt!r}"


COLOURS = ['<color rgb="FFFFFFFF"/>', '<color rgb="FFFEFEFE"/>', '<color theme="0"/>',
           '<color indexed="9"/>', '<color rgb="FFFFF2CC"/>', '<color auto="1"/>',
           '<color rgb="FFFFFF"/>', '<color rgb="00FFFFFF"/>']
FILLS = [None, "FFFFFFFF", "FFFFF2CC", "FF000000"]


def colours(parts: Parts, rng: random.Random) -> str:
    colour, fill = rng.choice(COLOURS), rng.choice(FILLS)
    st = text(parts, "xl/styles.xml")
    m = re.search(r'<fonts count="(\d+)">', st)
    assert m
    font = int(m.group(1))
    st = st.replace(m.group(0), f'<fonts count="{font + 1}">', 1).replace(
        "</fonts>", f'<font><sz val="11"/>{colour}<name val="Calibri"/></font></fonts>', 1)
    fill_id = 0
    if fill:
        m = re.search(r'<fills count="(\d+)">', st)
        assert m
        fill_id = int(m.group(1))
        st = st.replace(m.group(0), f'<fills count="{fill_id + 1}">', 1).replace(
            "</fills>", f'<fill><patternFill patternType="solid"><fgColor rgb="{fill}"/>'
            '<bgColor indexed="64"/></patternFill></fill></fills>', 1)
    put(parts, "xl/styles.xml", st)
    style = _style(parts, f'<xf numFmtId="0" fontId="{font}" fillId="{fill_id}" borderId="0" '
                   'xfId="0" applyFont="1" applyFill="1"/>')
    return f"{_restyle(parts, rng, style)} in {colour} on fill {fill}"


def conditional(parts: Parts, rng: random.Random) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    cells = value_cells(xml)
    if not cells:
        return f"{name}: no value cell"
    ref = rng.choice(cells)
    dxf = rng.choice([f'<numFmt numFmtId="300" formatCode="{_escape(f)}"/>'
                      for f in (";;;", '"0"', "0,", '"300"')]
                     + [f"<font>{c}</font>" for c in COLOURS[:5]]
                     + ['<font><color rgb="FFFFFFFF"/></font><fill><patternFill><bgColor '
                        'rgb="FFFFFFFF"/></patternFill></fill>'])
    rule = rng.choice(['<cfRule type="expression" dxfId="D" priority="1"><formula>TRUE'
                       "</formula></cfRule>",
                       '<cfRule type="cellIs" dxfId="D" priority="1" operator="notEqual">'
                       '<formula>"zzz"</formula></cfRule>',
                       '<cfRule type="expression" dxfId="D" priority="1"><formula>1=1'
                       "</formula></cfRule>"])
    st = text(parts, "xl/styles.xml")
    if '<dxfs count="0"/>' in st:
        st, d = st.replace('<dxfs count="0"/>', f'<dxfs count="1"><dxf>{dxf}</dxf></dxfs>'), 0
    else:
        m = re.search(r'<dxfs count="(\d+)">', st)
        if not m:
            return "no dxfs"
        d = int(m.group(1))
        st = st.replace(m.group(0), f'<dxfs count="{d + 1}">', 1).replace(
            "</dxfs>", f"<dxf>{dxf}</dxf></dxfs>", 1)
    put(parts, "xl/styles.xml", st)
    cf = f'<conditionalFormatting sqref="{ref}">{rule.replace("D", str(d), 1)}</conditionalFormatting>'
    anchor = "<dataValidations" if "<dataValidations" in xml else "<pageMargins"
    put(parts, part, xml.replace(anchor, cf + anchor, 1))
    return f"{name}!{ref}: a conditional format {rule[:40]!r}... applying {dxf}"


def sheet_state(parts: Parts, rng: random.Random) -> str:
    name, _ = data_sheet(parts, rng)
    wb = text(parts, "xl/workbook.xml")
    state = rng.choice(["hidden", "veryHidden", "HIDDEN", "visible"])
    head = re.search(rf'<sheet name="{re.escape(name)}"', wb)
    assert head
    put(parts, "xl/workbook.xml", wb.replace(head.group(0), f'{head.group(0)} state="{state}"', 1))
    return f"sheet {name} state={state!r}"


def sheet_name(parts: Parts, rng: random.Random) -> str:
    name, _ = data_sheet(parts, rng)
    new = rng.choice([name + " ", " " + name, name.upper(), name.lower(), name + "\u200b",
                      name.replace("i", "\u0456", 1), name + "1"])
    put(parts, "xl/workbook.xml", text(parts, "xl/workbook.xml").replace(
        f'<sheet name="{name}"', f'<sheet name="{new}"', 1))
    return f"sheet {name!r} renamed {new!r}"


def move_part(parts: Parts, rng: random.Random) -> str:
    old = rng.choice(["xl/sharedStrings.xml", "xl/styles.xml"])
    if old not in parts:
        return f"no {old}"
    new = rng.choice(["xl/strings/other.xml", "xl/Styles.XML", "xl/a b.xml", "other.xml",
                      "xl/worksheets/sheet1.xml.bak"])
    parts[new] = parts.pop(old)
    rels = text(parts, "xl/_rels/workbook.xml.rels")
    target = "/" + new if not new.startswith("xl/") or rng.random() < 0.5 else new[3:]
    put(parts, "xl/_rels/workbook.xml.rels", rels.replace(f'Target="{old[3:]}"',
                                                          f'Target="{target}"'))
    ct = text(parts, "[Content_Types].xml")
    put(parts, "[Content_Types].xml", ct.replace(f'PartName="/{old}"', f'PartName="/{new}"'))
    return f"{old} moved to {new} (relationship target {target!r})"


def huge_number(parts: Parts, rng: random.Random) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    cells = re.findall(r'<c r="([A-Z]+\d+)"(?: s="\d+")?><v>[^<]*</v>', xml)
    if not cells:
        return f"{name}: no number"
    ref = rng.choice(cells)
    v = rng.choice(["1e308", "9" * 40, "-0", "NaN", "INF", "1E+400", "4.5E1", "45.0000000001",
                    "0x2D", " 45", "45 ", "4,5", "1e-320", "-1"])
    xml = re.sub(rf'(<c r="{ref}"(?: s="\d+")?><v>)[^<]*(</v>)', rf"\g<1>{v}\g<2>", xml, count=1)
    put(parts, part, xml)
    return f"{name}!{ref} = {v!r}"


def cell_type(parts: Parts, rng: random.Random) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    cells = re.findall(r'<c r="([A-Z]+\d+)"(?: s="\d+")?><v>[^<]*</v></c>', xml)
    if not cells:
        return f"{name}: no number"
    ref = rng.choice(cells)
    kind = rng.choice(["str", "inlineStr", "b", "e", "n", "d", "s"])
    m = re.search(rf'<c r="{ref}"( s="\d+")?><v>([^<]*)</v></c>', xml)
    assert m
    body = f"<is><t>{m.group(2)}</t></is>" if kind == "inlineStr" else f"<v>{m.group(2)}</v>"
    if kind == "d":
        body = "<v>2013-06-03T00:00:00</v>"
    xml = xml.replace(m.group(0), f'<c r="{ref}"{m.group(1) or ""} t="{kind}">{body}</c>', 1)
    put(parts, part, xml)
    return f"{name}!{ref} given t={kind!r}"


def prefixed(parts: Parts, rng: random.Random) -> str:
    name, part = data_sheet(parts, rng)
    xml = text(parts, part)
    xml = xml.replace(f'xmlns="{MAIN}"', f'xmlns:x="{MAIN}"', 1)
    xml = re.sub(r"<(/?)([a-zA-Z]+)([\s>/])", lambda m: f"<{m.group(1)}x:{m.group(2)}{m.group(3)}"
                 if m.group(2) != "xml" else m.group(0), xml)
    put(parts, part, xml)
    return f"{name}: every element with a namespace prefix x:"


def merge(parts: Parts, rng: random.Random) -> str:
    picked = _pick_row(parts, rng)
    if not picked:
        return "no data row"
    name, part, row = picked
    a, b = sorted(rng.sample("ABCDEF", 2))
    xml = text(parts, part)
    if "<mergeCells" in xml:
        return f"{name}: merged already"
    put(parts, part, xml.replace("</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell '
                                 f'ref="{a}{row}:{b}{row}"/></mergeCells>', 1))
    return f"{name}: {a}{row}:{b}{row} merged"


MUTATIONS: list[Callable[[Parts, random.Random], str]] = [
    row_attribute, row_attribute, zero_height, column, column, no_references, number_format,
    number_format, colours, colours, conditional, conditional, sheet_state, sheet_name,
    move_part, huge_number, cell_type, prefixed, merge]


def damage(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """A damaged zip: cut short, bytes flipped, or an entry twice."""
    how = rng.choice(["cut", "flip", "twice"])
    if how == "cut":
        n = rng.randrange(len(data) // 2, len(data))
        return data[:n], f"zip cut to {n} of {len(data)} bytes"
    if how == "flip":
        b = bytearray(data)
        spots = [rng.randrange(len(b)) for _ in range(rng.randint(1, 4))]
        for i in spots:
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b), f"bits flipped at {spots}"
    buf = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as z:
        names = src.namelist()
        again = rng.choice([n for n in names if "sheet" in n] or names)
        for n in names:
            z.writestr(entry(n, zipfile.ZIP_STORED), src.read(n))
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z.writestr(entry(again, zipfile.ZIP_STORED),
                       src.read(again).replace(b"<v>", b"<v>9", 1))
    return buf.getvalue(), f"{again} a second time, its first value prefixed with 9"


def mutant(seed: int, index: int) -> tuple[bytes, list[str]]:
    """Mutant number `index` of a run seeded `seed`: one to three mutations of a base, now
    and then a damaged zip. The same seed and index make the same bytes."""
    rng = random.Random(f"{seed}:{index}")
    base = BASES[rng.randrange(len(BASES))]
    parts = load(base)
    said = [base.name]
    for fn in rng.sample(MUTATIONS, rng.choice([1, 1, 1, 2, 3])):
        try:
            said.append(f"{fn.__name__}: {fn(parts, rng)}")
        except (KeyError, AssertionError, ValueError, IndexError):  # a part an earlier one moved
            said.append(f"{fn.__name__}: not applicable")
    data = save(parts)
    if rng.random() < 0.08:
        data, how = damage(data, rng)
        said.append(f"damage: {how}")
    return data, said

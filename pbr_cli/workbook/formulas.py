"""Which formula cells of a return can be trusted as shown (docs/limits.md).

A formula's cell holds two things: the formula, and the value the program that saved the
file worked out for it. pbr pays only on a value a person could check: a formula cell is
read as its saved value only where that value is what the formula gives from the cells of
its own sheet, worked out here, exactly (Decimal), from a small safe part of Excel's formula
language: numbers, texts in quotes, references to cells and ranges of the same sheet, + - * /,
unary minus, & (joining texts), brackets, and SUM. Anything else (another function, another
sheet, a link to another workbook, a shared or array formula) is not worked out, and its cell
is not paid on. Nothing here runs code the file brings: a formula is only ever parsed by the
patterns below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext
from typing import Any


class Blank(str):
    """A blank cell as a formula reads it: 0 in arithmetic, "" joined to a text, and 0 when
    it is the whole formula (=A3 shows 0)."""


BLANK = Blank("")
Value = Decimal | str  # a number, or a text (BLANK for a blank cell)
MAX_CELLS_READ = 100_000  # cells one formula may read (its ranges, and the formulas they hold)
MAX_DEPTH = 50  # formulas reading formulas reading formulas...


class NotWorkedOut(Exception):
    """A formula pbr does not work out: `why` says what in it, in a person's words."""

    def __init__(self, why: str, external: str = ""):
        super().__init__(why)
        self.why = why
        self.external = external  # the link, for a formula reading another workbook


_TOKEN_RE = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"]|"")*")
  | (?P<external>(?:'[^']*\[[^\]]*\][^']*'|\[[^\]]*\][^\s!]*)![$A-Za-z0-9:]+)
  | (?P<sheet>(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)
  | (?P<range>\$?[A-Za-z]{1,3}\$?\d{1,7}:\$?[A-Za-z]{1,3}\$?\d{1,7})
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<ref>\$?[A-Za-z]{1,3}\$?\d{1,7}(?![\w(]))
  | (?P<function>[A-Za-z_][\w.]*)\(
  | (?P<name>[A-Za-z_][\w.]*)
  | (?P<op>[-+*/&(),])
  | (?P<other>\S+?)
)""", re.VERBOSE)


def _tokens(formula: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    at = 0
    text = formula.rstrip()
    while at < len(text):
        m = _TOKEN_RE.match(text, at)
        if m is None:
            break
        kind = m.lastgroup or "other"
        out.append((kind, m.group(kind)))
        at = m.end()
    return out


def position(ref: str) -> tuple[int, int]:
    """'$B$7' -> (6, 1): row and column from 0."""
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})", ref)
    if m is None:
        raise NotWorkedOut(f"'{ref}' is not a cell")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


# cell(row0, col0) -> the value a formula reads there: a number, a text, BLANK
Cells = Callable[[int, int], Value]


class _Parser:
    """Excel's order: unary minus first, then * /, then + -, then & (texts joined)."""

    def __init__(self, formula: str, cell: Cells):
        self.tokens = _tokens(formula)
        self.at = 0
        self.cell = cell
        self.read = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.at += 1
        return token

    def whole(self) -> Value:
        value = self.joined()
        kind, text = self.peek()
        if kind != "end":
            raise _unsupported(kind, text)
        return Decimal(0) if isinstance(value, Blank) else value

    def joined(self) -> Value:
        value = self.sum()
        while self.peek() == ("op", "&"):
            self.take()
            value = as_text(value) + as_text(self.sum())
        return value

    def sum(self) -> Value:
        value = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            _, op = self.take()
            right = as_number(self.product())
            value = as_number(value) + right if op == "+" else as_number(value) - right
        return value

    def product(self) -> Value:
        value = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            _, op = self.take()
            right = as_number(self.unary())
            if op == "/" and right == 0:
                raise NotWorkedOut("divides by zero")
            value = as_number(value) * right if op == "*" else as_number(value) / right
        return value

    def unary(self) -> Value:
        if self.peek() in (("op", "-"), ("op", "+")):
            _, op = self.take()
            value = as_number(self.unary())
            return -value if op == "-" else value
        return self.primary()

    def primary(self) -> Value:
        kind, text = self.take()
        if kind == "number":
            return Decimal(text)
        if kind == "string":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            return self.at_cell(*position(text))
        if kind == "op" and text == "(":
            value = self.joined()
            if self.take() != ("op", ")"):
                raise NotWorkedOut("has a bracket that is not closed")
            return value
        if kind == "function" and text.upper() == "SUM":
            return self.sum_of()
        raise _unsupported(kind, text)

    def sum_of(self) -> Decimal:
        """SUM(...): numbers given, and the numbers in the cells and ranges named (their
        texts and blanks left out, as Excel does)."""
        total = Decimal(0)
        while True:
            kind, text = self.peek()
            if kind in ("ref", "range") and self.tokens[self.at + 1:self.at + 2] in (
                    [("op", ",")], [("op", ")")]):
                self.take()
                ends = [position(end) for end in text.split(":")]
                (r0, c0), (r1, c1) = ends[0], ends[-1]
                for r in range(min(r0, r1), max(r0, r1) + 1):
                    for c in range(min(c0, c1), max(c0, c1) + 1):
                        value = self.at_cell(r, c)
                        if isinstance(value, Decimal):
                            total += value
            else:
                total += as_number(self.joined())
            kind, text = self.take()
            if (kind, text) == ("op", ")"):
                return total
            if (kind, text) != ("op", ","):
                raise NotWorkedOut("has a SUM that is not closed")

    def at_cell(self, row: int, col: int) -> Value:
        self.read += 1
        if self.read > MAX_CELLS_READ:
            raise NotWorkedOut(f"reads more than {MAX_CELLS_READ:,} cells")
        return self.cell(row, col)


def _unsupported(kind: str, text: str) -> NotWorkedOut:
    if kind == "external":
        return NotWorkedOut("reads another workbook", external=text)
    if kind == "sheet":
        return NotWorkedOut(f"reads the sheet {text[:-1]}")
    if kind == "function":
        return NotWorkedOut(f"uses {text.upper()}()")
    if kind == "range":
        return NotWorkedOut(f"uses the range {text} outside SUM")
    if kind == "name":
        return NotWorkedOut(f"uses the name {text}")
    if kind == "end":
        return NotWorkedOut("ends before it is complete")
    return NotWorkedOut(f"uses '{text}'")


def as_number(value: Value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, Blank):
        return Decimal(0)  # a blank cell counts 0
    raise NotWorkedOut("does arithmetic on a text")


def as_text(value: Value) -> str:
    """A value joined to a text, as Excel shows a number in a General cell (a whole number,
    or a decimal fraction: other numbers are not worked out)."""
    if isinstance(value, str):
        return str(value)
    if value == value.to_integral_value() and abs(value) < Decimal("1E15"):
        return str(int(value))
    shown = format(value.normalize(), "f")
    if len(shown.replace("-", "").replace(".", "").lstrip("0")) > 15 or abs(value) < Decimal("1E-9"):
        raise NotWorkedOut("joins a number Excel would show rounded or in E notation")
    return shown


def evaluate(formula: str, cell: Cells) -> Value:
    """What `formula` (as saved, without its "=") gives, `cell` giving what each cell holds;
    NotWorkedOut if it is not one pbr works out."""
    if len(formula) > 8192:
        raise NotWorkedOut("is longer than Excel allows")
    with localcontext() as ctx:
        ctx.prec = 50
        ctx.traps[DivisionByZero] = True
        try:
            return _Parser(formula, cell).whole()
        except (InvalidOperation, DivisionByZero, RecursionError):
            raise NotWorkedOut("cannot be worked out") from None


def same(worked_out: Value, saved: str, kind: str) -> bool:
    """Whether the value saved with a formula is what it gives: a text exactly; a number
    exactly, or to the 15 significant digits Excel keeps."""
    if isinstance(worked_out, str):
        return kind in ("str", "inlineStr") and saved == worked_out
    if kind not in ("n", ""):
        return False
    try:
        number = Decimal(saved.strip())
    except InvalidOperation:
        return False
    if number == worked_out:
        return True
    return _digits15(number) == _digits15(worked_out)


def _digits15(value: Decimal) -> Decimal:
    if value == 0 or not value.is_finite():
        return value
    with localcontext() as ctx:
        ctx.prec = 15
        return +value


def shown(value: Value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    text = format(value.normalize(), "f") if abs(value) < Decimal("1E15") else str(value)
    if "." in text and len(text) > 20:
        text = format(_digits15(value).normalize(), "f")
    return text


@dataclass(frozen=True)
class FormulaCell:
    formula: str  # as saved, without its "=" ("" for a shared formula's copies)
    saved: str | None  # the value saved with it (None: saved without one)
    kind: str  # the cell's t= ("n" if none)
    how: str = ""  # the formula's t= ("shared", "array"), "" for a plain one


def judge(cells: dict[tuple[int, int], FormulaCell], value: Callable[[int, int], Any],
          marked: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
    """Each formula cell saved with a value that cannot be trusted, with what to tell the
    person who filled it ({(row0, col0): message}); the others are read as saved.
    `value(row0, col0)` is what the reader read in a cell, `marked` the cells it marked as
    not to be read (an error value, a date no calendar has: {(row0, col0): code})."""
    results: dict[tuple[int, int], Value | NotWorkedOut] = {}
    busy: set[tuple[int, int]] = set()

    def worked_out(key: tuple[int, int], depth: int) -> Value:
        if key in results:
            found = results[key]
            if isinstance(found, NotWorkedOut):
                raise found
            return found
        if key in busy or depth > MAX_DEPTH:
            raise NotWorkedOut("reads itself, through the cells it reads")
        if cells[key].saved is None:
            raise NotWorkedOut("was saved without its value")
        busy.add(key)
        try:
            result = _one(cells[key], lambda r, c: read(r, c, depth))
        except NotWorkedOut as exc:
            results[key] = exc
            raise
        finally:
            busy.discard(key)
        results[key] = result
        return result

    def read(row: int, col: int, depth: int) -> Value:
        if (row, col) in cells:
            try:
                return worked_out((row, col), depth + 1)
            except NotWorkedOut as exc:
                raise NotWorkedOut(f"reads {_ref(row, col)}, whose own formula cannot be "
                                   f"trusted (it {exc.why})") from None
        if marked.get((row, col), "formula-in-input") != "formula-in-input":
            raise NotWorkedOut(f"reads {_ref(row, col)}, which cannot be read as it is")
        return plain(value(row, col))

    out: dict[tuple[int, int], str] = {}
    for key, cell in cells.items():
        if cell.saved is None or marked.get(key, "formula-in-input") != "formula-in-input":
            continue  # said otherwise: a formula without a value, an error value
        try:
            result = worked_out(key, 0)
        except NotWorkedOut as exc:
            out[key] = _untrusted(cell, exc)
            continue
        if not same(result, cell.saved, cell.kind):
            out[key] = (f"the cell's formula ={_short(cell.formula)} gives {shown(result)}, but "
                        f"the value saved with it is {_saved(cell)} (it was not worked out "
                        "again before the file was saved), so it is not paid on; type the "
                        "value itself")
    return out


def _one(cell: FormulaCell, read: Cells) -> Value:
    if cell.how == "shared" and not cell.formula:
        raise NotWorkedOut("is a copy of another cell's shared formula")
    if cell.how == "array":
        raise NotWorkedOut("is an array formula")
    if not cell.formula:
        raise NotWorkedOut("is empty")
    return evaluate(cell.formula, read)


def plain(value: Any) -> Value:
    """What the reader read in a cell, as a formula reads it (or NotWorkedOut)."""
    if value is None or value == "":
        return BLANK
    if isinstance(value, bool):
        raise NotWorkedOut("reads a TRUE or FALSE")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return value
    raise NotWorkedOut("reads a date or time")


def _untrusted(cell: FormulaCell, exc: NotWorkedOut) -> str:
    formula = f"={_short(cell.formula)}" if cell.formula else ""
    if exc.external:
        return (f"the cell's formula {formula} reads another workbook ({exc.external}): its "
                f"saved value ({_saved(cell)}) cannot be checked against that workbook, so it "
                "is not paid on; type the value itself")
    return (f"the cell's formula {formula} {exc.why}: pbr checks a saved value only against "
            "numbers, texts, cells of the same sheet, + - * / & and SUM, so it is not paid "
            "on; type the value itself").replace("formula  ", "formula ")


def _saved(cell: FormulaCell) -> str:
    return f'"{cell.saved}"' if cell.kind in ("str", "inlineStr") else str(cell.saved)


def formula_cells(pkg: Any, part: str) -> dict[tuple[int, int], FormulaCell]:
    """Every formula cell of a sheet's part, where the schema places it (a row or cell
    written without r= comes after the one before it), streamed with defusedxml."""
    import defusedxml.ElementTree as SafeET

    from pbr_cli.workbook.package import local

    found: dict[tuple[int, int], FormulaCell] = {}
    row = col = -1
    with pkg.zip.open(part) as fh:
        for event, node in SafeET.iterparse(fh, events=("start", "end")):
            tag = local(node.tag)
            if event == "start":
                if tag == "row":
                    r = node.get("r", "")
                    row, col = (int(r) - 1 if r.isdigit() else row + 1), -1
                elif tag == "c":
                    ref = node.get("r")
                    col = position(ref)[1] if ref and re.fullmatch(
                        r"\$?[A-Za-z]{1,3}\$?\d{1,7}", ref) else col + 1
                continue
            if tag == "row":
                node.clear()
            if tag != "c":
                continue
            parts = {local(child.tag): child for child in node}
            f = parts.get("f")
            if f is None:
                continue
            ref = node.get("r")
            at = position(ref) if ref and re.fullmatch(r"\$?[A-Za-z]{1,3}\$?\d{1,7}", ref) \
                else (row, col)
            v = parts.get("v")
            kind = node.get("t", "n")
            saved = v.text if v is not None and v.text is not None else None
            if kind == "inlineStr" and "is" in parts:
                saved = "".join(parts["is"].itertext())
            found[at] = FormulaCell((f.text or "").strip(), saved, kind, f.get("t", ""))
    return found


def _short(formula: str) -> str:
    return formula if len(formula) <= 80 else formula[:77] + "..."


def _ref(row: int, col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"

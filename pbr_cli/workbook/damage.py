"""What is wrong with a damaged workbook, in the return's words.

A reader that gives up says so in its own terms (an exception's class, a parser's jargon).
Here the same failure is told as what is wrong in the file: which part or sheet, where in it
(line and column of its XML, or the cell), and what a person would call it ("a tag is not
closed", "the file is cut short"). Nothing here names a library or an exception.
"""

from __future__ import annotations

import re
from typing import IO, Any

# A truncated or corrupt zip: what every "damaged" refusal says first.
INCOMPLETE = "the file is damaged or truncated: not a complete workbook"

# The XML parser's complaints (expat's, which every XML pbr parses goes through), as what
# is wrong in the file.
_XML_WORDS = (
    ("no element found", "it ends before its last tag is closed (the part is cut short)"),
    ("unclosed token", "it ends inside a tag (the part is cut short)"),
    ("partial character", "it ends inside a character (the part is cut short)"),
    ("mismatched tag", "a tag is not closed, or is closed by another tag"),
    ("not well-formed", "a character XML does not allow, or a tag broken off"),
    ("duplicate attribute", "a tag gives the same attribute twice"),
    ("junk after document element", "there is more after its last tag"),
    ("undefined entity", "a named character (&name;) XML does not define"),
    ("reference to invalid character number", "a character code (&#...;) of a character XML "
                                               "does not allow"),
    ("not at start of entity", "its XML declaration is not at its start"),
    ("unbound prefix", "a tag's prefix names no namespace"),
    ("encoding", "its text is not in the encoding it declares"),
    ("syntax error", "it is not XML"),
)


def xml_words(exc: BaseException) -> str:
    """What an XML parser's failure says is wrong, in plain words, with where it is."""
    name = type(exc).__name__
    if name in ("DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden",
                "NotSupportedError"):
        return "it declares a DTD or entities, which workbooks never have (an XML bomb?)"
    text = str(exc)
    plain = next((words for said, words in _XML_WORDS if said in text), "it is not well-formed XML")
    position = getattr(exc, "position", None)
    if isinstance(position, tuple) and len(position) == 2:
        line, column = position
        return f"damaged at line {line:,}, column {column + 1:,}: {plain}"
    return f"damaged: {plain}"


def xml_damage(what: str, exc: BaseException) -> str:
    """`what` ("the sheet 'Utilisation'", "the part xl/workbook.xml") and what is wrong
    with its XML: "the sheet 'Utilisation': its XML is damaged at line 2, column 9: ..."."""
    said = xml_words(exc)
    if said.startswith("damaged"):
        return f"{what}: its XML is {said}"
    return f"{what}: {said}; refused"


# What Excel writes in a cell: its types, its error values.
CELL_TYPES = {"b", "d", "e", "inlineStr", "n", "s", "str"}
ERROR_VALUES = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!",
                "#BUSY!", "#UNKNOWN!", "#PYTHON!"}
_REF_RE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
_NUMBER_RE = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
_CELL_PARTS = {"v", "f", "is", "extLst"}


def sheet_damage(what: str, fh: IO[bytes], texts: int | None) -> str | None:
    """The first thing in a sheet's XML (`fh`) that no spreadsheet writes, as `what` and
    what is wrong: XML that is not well formed (with its line and column), a cell reference
    that is not one, a cell type or error value Excel does not have, a number that is not
    one, a text the workbook's table of `texts` texts does not hold. None if none is found."""
    import defusedxml.ElementTree as SafeET

    try:
        for _, node in SafeET.iterparse(fh, events=("end",)):
            tag = node.tag.rsplit("}", 1)[-1]
            if tag == "row":
                node.clear()
            if tag != "c":
                continue
            found = _cell_damage(node, texts)
            if found:
                return f"{what}, {found}"
    except Exception as exc:  # the parser's failure, said in plain words below
        return xml_damage(what, exc)
    return None


def _cell_damage(node: Any, texts: int | None) -> str | None:
    ref = node.get("r")
    at = f"cell {ref}" if ref else "a cell"
    if ref is not None and not _REF_RE.fullmatch(ref):
        return f"a cell's reference (r=\"{ref}\") is not a cell reference"
    kind = node.get("t", "n")
    if kind not in CELL_TYPES:
        return f"{at} has a type (t=\"{kind}\") no spreadsheet writes"
    parts = {child.tag.rsplit("}", 1)[-1]: child for child in node}
    odd = sorted(set(parts) - _CELL_PARTS)
    if odd:
        return f"{at} holds <{odd[0]}>, which a cell never holds"
    value = parts.get("v")
    text = value.text if value is not None and value.text is not None else None
    if text is None:
        return None
    if kind == "e" and text.strip() not in ERROR_VALUES:
        return f"{at} is marked as an Excel error but holds '{text[:40]}', which is none"
    if kind == "b" and text.strip() not in ("0", "1"):
        return f"{at} is marked as TRUE or FALSE but holds '{text[:40]}', which is neither"
    if kind in ("n", "s") and not _NUMBER_RE.fullmatch(text):
        return f"{at} holds '{text[:40]}' where a number belongs"
    if kind == "s" and texts is not None and _NUMBER_RE.fullmatch(text):
        index = float(text)
        if not index.is_integer() or not 0 <= index < texts:
            return (f"{at} refers to text number {text.strip()[:20]}, but the workbook's "
                    f"table of texts holds {texts:,}")
    return None


def reader_words(text: str) -> str:
    """A reader's own account of a failure, as what is wrong in the file (never its words)."""
    if "I/O error" in text or "checksum" in text or "deflate" in text:
        return "its part is damaged (it does not unpack to what the zip says)"
    if "UTF-8" in text or "decode" in text:
        return "its text is not in the encoding it declares (UTF-8)"
    if "file format" in text:
        return "its parts are not those of an Excel workbook"
    return "its contents are not what a spreadsheet writes"

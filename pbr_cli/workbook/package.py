"""The gate every workbook passes before any spreadsheet parser sees it.

A return is a zip of XML parts. Before parsing we check, cheaply and in bounded memory:
what the file really is (xlsx, legacy xls, encrypted, text), that the zip is sound, that
the declared unpacked sizes are within limits (zip bombs), and, by streaming each needed
sheet's XML, the sheet's true used range (a two-cell file claiming column XFD and row
1,048,576 would make the fast reader try to allocate hundreds of GiB and abort the process).
The same scan notes whether the sheet has formulas or Excel error cells, so the slow exact
path is taken only for sheets that need it.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import defusedxml.ElementTree as SafeET

from pbr_cli.errors import PbrError
from pbr_cli.workbook.damage import INCOMPLETE, xml_damage

# Documented limits (docs/limits.md).
MAX_FILE_BYTES = 100 * 1024 * 1024  # the file as sent
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024  # all parts, unpacked
MAX_RATIO = 200  # unpacked / packed, for any part over 1 MiB
MAX_CELLS = 2_500_000  # used ranges of the sheets read, rows x columns, together
MAX_COLUMNS = 200
MAX_PARTS = 10_000  # entries in the zip
MAX_SHARED_STRINGS = 2_500_000  # distinct texts in the workbook's string table
MAX_TEXT_BYTES = 64 * 2**20  # text the cells read hold, a shared text counted at each use
CHUNK = 1 << 20

# Strict Open XML (Excel can save it) names the same elements in other namespaces than the
# usual ones; pbr matches elements and attributes by their local names, whatever the namespace
# or prefix.
R_NAMESPACES = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                "http://purl.oclc.org/ooxml/officeDocument/relationships")


def local(tag: str) -> str:
    """An element's or attribute's name without its namespace."""
    return tag.rsplit("}", 1)[-1]
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")


class UnreadableFile(PbrError):
    """A file that cannot be used at all (exit code 2)."""

    def __init__(self, path: str, code: str, why: str):
        super().__init__(f"{path}: {why}", code=code)
        self.path = path
        self.why = why
        self.sha256: str | None = None  # of the bytes found unreadable, once they were read


@dataclass
class Package:
    path: str
    data: bytes
    zip: zipfile.ZipFile
    sheets: dict[str, str]  # sheet name -> part name, in workbook order
    hidden: set[str] = field(default_factory=set)
    parts: dict[str, str] = field(default_factory=dict)  # styles, texts, theme: related_parts
    looks: Any = None  # the styles as a person sees them (styles.read_styles)
    strings_part: zipfile.ZipInfo | None = None  # the shared string table
    _sizes: Any = None

    def text_sizes(self):
        """The size in bytes of each shared text (numpy int64), worked out when first asked."""
        if self._sizes is None and self.strings_part is not None:
            self._sizes = _text_sizes(self.path, stream_part(self.path, memoryview(self.data),
                                                              self.strings_part))
        return self._sizes


def open_package(path: str, data: bytes) -> Package:
    """Check what `data` is and open it as an xlsx package, or raise UnreadableFile."""
    if not data:
        raise UnreadableFile(path, "empty-file", "the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(path, "workbook-too-large",
                             f"the file is {len(data) // 2**20} MiB; the limit is "
                             f"{MAX_FILE_BYTES // 2**20} MiB")
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_MARK in data:
            raise UnreadableFile(path, "encrypted-workbook",
                                 "the workbook is password-protected; remove the password "
                                 "(File > Info > Protect Workbook) and send it again")
        raise UnreadableFile(path, "legacy-xls",
                             "this is an old-style .xls workbook; open it in Excel and save it "
                             "as .xlsx (Excel Workbook)")
    if not data.startswith(b"PK\x03\x04"):
        sample = data[:2048]
        looks_text = b"\x00" not in sample and all(b >= 9 for b in sample)
        what = "a text or CSV file renamed .xlsx" if looks_text else "not an xlsx workbook"
        raise UnreadableFile(path, "not-a-workbook", f"this is {what}; send the return as "
                             "an Excel workbook (.xlsx) made from the template")
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (its list of parts, "
                             "at the end of the file, is missing, cut short or damaged)") from None
    if len(infos) > MAX_PARTS:
        raise UnreadableFile(path, "unsafe-workbook", f"the zip holds {len(infos):,} parts; "
                             f"a workbook has a few dozen (the limit is {MAX_PARTS:,})")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            _sizes_agree(path, data, info)
            raise UnreadableFile(path, "unsafe-workbook",
                                 f"the part {info.filename} unpacks to "
                                 f"{info.file_size // 2**20:,} MiB from "
                                 f"{max(info.compress_size // 1024, 1):,} KiB (a zip bomb); refused")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableFile(path, "corrupt-workbook", f"the part {info.filename} uses a "
                                 "compression Excel does not write; save the file again in Excel")
        if info.flag_bits & 0x1:
            raise UnreadableFile(path, "encrypted-workbook", "the zip is encrypted; send the "
                                 "workbook without a password")
    if total > MAX_UNZIPPED_BYTES:
        for info in infos:
            _sizes_agree(path, data, info)
        raise UnreadableFile(path, "workbook-too-large",
                             f"the workbook unpacks to {total // 2**20:,} MiB; the limit is "
                             f"{MAX_UNZIPPED_BYTES // 2**20} MiB")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise UnreadableFile(path, "not-a-workbook",
                             "this zip is not an Excel workbook (no xl/workbook.xml)")
    parts = related_parts(path, archive)  # the styles and texts the relationships name
    view = memoryview(data)
    strings = None
    for info in infos:
        # Worksheets are checked as they are scanned; sheets nobody reads are never unpacked.
        if info.filename.startswith("xl/worksheets/sheet") or info.is_dir():
            continue
        if (info.filename == parts.get("sharedStrings")
                or info.filename.lower().rsplit("/", 1)[-1] == "sharedstrings.xml"):
            strings = info
            _count_texts(path, stream_part(path, view, info))
        else:
            for _ in stream_part(path, view, info):
                pass
    sheets, hidden = _sheet_parts(path, archive)
    return Package(path=path, data=data, zip=archive, sheets=sheets, hidden=hidden,
                   parts=parts, strings_part=strings)


_USUAL = {"styles": "xl/styles.xml", "sharedStrings": "xl/sharedStrings.xml"}


def related_parts(path: str, archive: zipfile.ZipFile) -> dict[str, str]:
    """{kind: part} for the styles, shared strings and theme the workbook's relationships
    name. A part under the usual name beside the one named is refused: Excel reads the one
    named, other readers the usual one, and each would show other texts or formats."""
    name = "xl/_rels/workbook.xml.rels"
    rels = _parse_xml(path, _read_part(path, archive, name), name)
    found: dict[str, str] = {}
    for rel in rels.iter():
        if local(rel.tag) != "Relationship":
            continue
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        if kind in ("styles", "sharedStrings", "theme") and kind not in found:
            target = rel.get("Target", "")
            found[kind] = (target.lstrip("/") if target.startswith("/")
                           else posixpath.normpath(posixpath.join("xl", target)))
    names = set(archive.namelist())
    for kind, usual in _USUAL.items():
        named = found.get(kind)
        if named is not None and named != usual and usual in names:
            what = "styles" if kind == "styles" else "shared texts"
            raise UnreadableFile(path, "unsafe-workbook", f"the workbook's {what} are in "
                                 f"{named}, as its relationships say, but it also holds "
                                 f"{usual}, which other readers read instead: what pbr reads "
                                 "would not be what Excel shows; refused")
    return found


def _sizes_agree(path: str, data: bytes, info: zipfile.ZipInfo) -> None:
    """A zip gives each part's size twice, in its list of parts and before the part itself:
    where the two disagree (one damaged field, not a bomb, whose sizes agree), the file is
    damaged (UnreadableFile)."""
    head = data[info.header_offset:info.header_offset + 30]
    if len(head) < 30 or head[:4] != b"PK\x03\x04" or head[6] & 0x08:
        return  # sizes after the part (or no header): the stream's own check judges them
    if struct.unpack("<I", head[22:26])[0] not in (info.file_size, 0xFFFFFFFF):
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (the zip gives the part "
                             f"{info.filename} two different sizes)")


_SI_RE = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")


def _count_texts(path: str, chunks: Iterator[bytes]) -> int:
    """How many texts the shared string table holds, or UnreadableFile beyond the limit."""
    count, tail = 0, b""
    for chunk in chunks:
        buf = tail + chunk
        # a tag inside the tail carried over was counted with the chunk before
        count += len(_SI_RE.findall(buf)) - len(_SI_RE.findall(tail))
        if count > MAX_SHARED_STRINGS:
            raise UnreadableFile(path, "workbook-too-large", f"the workbook's string table "
                                 f"holds more than {MAX_SHARED_STRINGS:,} texts (the limit)")
        tail = buf[-16:]
    return count


def _text_sizes(path: str, chunks: Iterator[bytes]):
    """The size in bytes of each text of the shared string table (from one `<si>` to the
    next: its text and markup, a bound on what a reader makes of it), or UnreadableFile when
    it holds more texts than MAX_SHARED_STRINGS."""
    from array import array

    import numpy as np

    starts = array("q")  # eight bytes a text, however many
    at, tail = 0, b""
    for chunk in chunks:
        buf = tail + chunk
        base = at - len(tail)
        # a tag ending in the tail carried over was found in the chunk before
        starts.extend(base + m.start() for m in _SI_RE.finditer(buf) if m.end() > len(tail))
        if len(starts) > MAX_SHARED_STRINGS:
            raise UnreadableFile(path, "workbook-too-large", f"the workbook's string table "
                                 f"holds more than {MAX_SHARED_STRINGS:,} texts (the limit)")
        at += len(chunk)
        tail = buf[-16:]
    starts.append(at)
    return np.diff(np.frombuffer(starts, np.int64))


_UNSAFE_XML = (b"<!DOCTYPE", b"<!ENTITY")


def stream_part(path: str, data: memoryview, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Unpack one part in chunks, trusting nothing the zip declares.

    Stops as soon as the part unpacks to more than its declared size (a zip bomb with a
    lying header would otherwise make a reader unpack gigabytes), checks the CRC, and refuses
    XML parts that declare a DTD or entities (an XML bomb): workbooks never have them.
    """
    name = info.filename
    off = info.header_offset
    head = bytes(data[off:off + 30])
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (the part {name} is "
                             "not where its list of parts says)")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    start = off + 30 + name_len + extra_len
    packed = data[start:start + info.compress_size]
    if len(packed) < info.compress_size:
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (the part {name} is "
                             "cut short)")
    is_xml = name.endswith((".xml", ".rels", ".vml"))
    crc = produced = 0
    tail = b""
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    pos = 0
    try:
        while True:
            if inflater is None:
                chunk = bytes(packed[pos:pos + CHUNK])
                pos += len(chunk)
                done = pos >= len(packed)
            else:
                feed = inflater.unconsumed_tail or bytes(packed[pos:pos + CHUNK])
                if not inflater.unconsumed_tail:
                    pos += len(feed)
                chunk = inflater.decompress(feed, CHUNK)
                done = inflater.eof or (pos >= len(packed) and not inflater.unconsumed_tail
                                        and not chunk)
            produced += len(chunk)
            if produced > info.file_size:
                _beyond_declared(path, info, inflater, packed, pos, produced)
            if is_xml and any(mark in tail + chunk for mark in _UNSAFE_XML):
                raise UnreadableFile(path, "unsafe-workbook", f"the part {name} declares a DTD or "
                                     "entities, which workbooks never have (an XML bomb?); refused")
            crc = zlib.crc32(chunk, crc)
            tail = chunk[-16:]
            if chunk:
                yield chunk
            if done:
                break
    except zlib.error:
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (the part {name} does "
                             "not unpack: its packed bytes are damaged)") from None
    if produced != info.file_size or crc != info.CRC or (inflater is not None and not inflater.eof):
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (the part {name} does "
                             "not unpack to the size and checksum the zip gives it)")


def _beyond_declared(path: str, info: zipfile.ZipInfo, inflater, packed, pos: int,
                     produced: int) -> None:
    """A part unpacking to more than its header says: a zip bomb whose header lies when it
    goes on unpacking to more than a mebibyte beyond it at more than MAX_RATIO to one, else
    damage (a size field a little wrong). Unpacks at most that mebibyte more, keeping none
    of it; always raises UnreadableFile."""
    more = 0
    try:
        while inflater is not None and more <= 2**20 and not inflater.eof:
            feed = inflater.unconsumed_tail or bytes(packed[pos:pos + CHUNK])
            if not inflater.unconsumed_tail:
                pos += len(feed)
            chunk = inflater.decompress(feed, CHUNK)
            if not chunk and pos >= len(packed):
                break
            more += len(chunk)
    except zlib.error:
        pass
    consumed = pos - len(inflater.unconsumed_tail) if inflater is not None else pos
    if more > 2**20 and produced + more > MAX_RATIO * max(consumed, 1):
        raise UnreadableFile(path, "unsafe-workbook", f"the part {info.filename} unpacks to "
                             "more than its declared size, and goes on at more than "
                             f"{MAX_RATIO} to one (a zip bomb); refused")
    raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (the part {info.filename} "
                         "unpacks to more than the size the zip gives it)")


def _read_part(path: str, archive: zipfile.ZipFile, name: str, limit: int = 16 * 2**20) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (it has no {name})") from None
    if info.file_size > limit:
        raise UnreadableFile(path, "workbook-too-large", f"the part {name} is too large")
    try:
        with archive.open(info) as fh:
            return fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        raise UnreadableFile(path, "corrupt-workbook", f"{INCOMPLETE} (the part {name} does "
                             "not unpack)") from None


def _parse_xml(path: str, body: bytes, name: str):
    try:
        return SafeET.fromstring(body)
    except Exception as exc:  # defusedxml raises several kinds; all mean "refused"
        raise UnreadableFile(path, "corrupt-workbook",
                             xml_damage(f"the part {name}", exc)) from None


def _sheet_parts(path: str, archive: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """Every sheet workbook.xml lists, by name, with its part. Two sheets of one name (Excel
    compares names without case) are refused: readers disagree on which one they read."""
    book = _parse_xml(path, _read_part(path, archive, "xl/workbook.xml"), "xl/workbook.xml")
    rels_name = "xl/_rels/workbook.xml.rels"
    rels = _parse_xml(path, _read_part(path, archive, rels_name), rels_name)
    targets = {}
    for rel in rels.iter():
        if local(rel.tag) != "Relationship":
            continue
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = target
    sheets: dict[str, str] = {}
    hidden: set[str] = set()
    seen: dict[str, str] = {}
    for node in book.iter():
        if local(node.tag) != "sheet":
            continue
        name = node.get("name", "")
        if name.casefold() in seen:
            raise UnreadableFile(path, "unsafe-workbook", f"two sheets are named '{name}'; a "
                                 "workbook Excel saved never has that (readers disagree on "
                                 "which one they read): send the return made from the template")
        seen[name.casefold()] = name
        rid = next((node.get(f"{{{ns}}}id") for ns in R_NAMESPACES
                    if node.get(f"{{{ns}}}id") is not None), None)
        if rid not in targets:
            raise UnreadableFile(path, "corrupt-workbook", f"the sheet '{name}' has no part in "
                                 "the workbook")
        sheets[name] = targets[rid]
        if node.get("state") in ("hidden", "veryHidden"):
            hidden.add(name)
    return sheets, hidden




# Patterns over the sheet's XML that allow every spelling XML does: any namespace prefix,
# single or double quotes, spaces around "=". They run at the regular-expression engine's
# speed; Python looks only at what they find, which in a usual return is one match a row.

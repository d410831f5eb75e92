"""The Cover sheet's checks (rules.Cover): which model, template version, provider and month
the return says it is for, against the model, the register, the folder it is filed in and
its own file name."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.returns.cells import is_blank
from pbr_cli.returns.layout import COVER_FIELDS, COVER_SHEET, REQUIRED_COVER, TEMPLATE_LAYOUT
from pbr_cli.returns.register import Register
from pbr_cli.returns.rules import Cover, Message
from pbr_cli.workbook.reader import RawWorkbook

# say(message, row, **fields): a problem on the Cover sheet's column B (row None: the sheet)
Say = Callable[..., None]


def norm(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


def check_cover(raw: RawWorkbook, model: Model, register: Register,
                expected_month: Month | None, add: Callable[..., None]
                ) -> tuple[str | None, Month | None]:
    """The provider and month the Cover gives (None where it gives none that can be used),
    saying through `add` what is wrong with it."""
    sheet = raw.sheets.get(COVER_SHEET)
    if sheet is None:
        sheets = ", ".join(f"'{name}'" for name in raw.sheet_names) or "none"
        add(Cover.NO_COVER.code, Cover.NO_COVER.text(sheet=COVER_SHEET, model=model.name,
                                                     sheets=sheets))
        return None, None

    def say(message: Message, row: int | None, **fields: Any) -> None:
        add(message.code, message.text(**fields), COVER_SHEET, row, 1)

    labels = {norm(label): key for label, key in COVER_FIELDS}
    found: dict[str, tuple[Any, int | None]] = {}
    for r, row in enumerate(sheet.rows):
        if row and norm(row[0]) in labels:
            found[labels[norm(row[0])]] = (row[1] if len(row) > 1 else None, r)
    for key in REQUIRED_COVER:
        label = next(lbl for lbl, k in COVER_FIELDS if k == key)
        value, at = found.get(key, (None, None))
        if is_blank(value):
            say(Cover.BLANK, None if at is None else at + 1, label=label)

    def text(key: str) -> str:
        value = found.get(key, (None, 0))[0]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return "" if is_blank(value) else str(value).strip()

    def where(key: str) -> int | None:
        at = found[key][1] if key in found else None
        return at + 1 if at is not None else None

    if text("model") and text("model") != model.name:
        say(Cover.MODEL, where("model"), named=text("model"), model=model.name)
    if text("model_version") and text("model_version") != model.version:
        say(Cover.VERSION, where("model_version"), named=text("model_version"),
            version=model.version)
    if text("layout") and text("layout") != TEMPLATE_LAYOUT:
        say(Cover.LAYOUT, where("layout"), named=text("layout"), layout=TEMPLATE_LAYOUT)
    provider = text("provider") or None
    if provider and provider not in register.providers():
        say(Cover.PROVIDER, where("provider"), provider=provider)
        provider = None
    month = None
    raw_month = found.get("month", (None, 0))[0]
    if isinstance(raw_month, (date, datetime)):
        month = Month(raw_month.year, raw_month.month)
    elif text("month"):
        try:
            month = Month.parse(text("month"))
        except Exception:
            say(Cover.NOT_A_MONTH, where("month"), text=text("month"))
    _name_agrees(raw.path, register, provider or text("provider"), month,
                 lambda message, key, **fields: say(message, where(key), **fields))
    if month is not None:
        if expected_month is not None and month != expected_month:
            say(Cover.FILED, where("month"), month=month, folder=expected_month)
        if not model.covers(month):
            say(Cover.OUTSIDE, where("month"), month=month, start=model.start, end=model.end)
    return provider, month


def _name_agrees(path: str, register: Register, provider: str | None, month: Month | None,
                 say: Say) -> None:
    """A file name that gives a month (YYYY-MM) or a provider code must agree with the
    Cover: a copied-forward return with last month's Cover is the usual cause."""
    stem = PurePath(path).stem
    if month is not None:
        named = {f"{y}-{m}" for y, m in re.findall(r"(?<!\d)(\d{4})-(\d{2})(?!\d)", stem)}
        if named and str(month) not in named:
            say(Cover.NAME_MONTH, "month", named=", ".join(sorted(named)), month=month)
    if provider:
        codes = set(register.providers())
        named = {t for t in re.split(r"[^0-9A-Za-z]+", stem) if t in codes}
        if named and provider not in named:
            say(Cover.NAME_PROVIDER, "provider", named=", ".join(sorted(named)),
                provider=provider)

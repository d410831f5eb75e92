"""The checks of a return, one class each: the model keys that ask for it (none: every return
gets it), and each message it can give, as a problem code (pbr_cli/problems.py) and a
template its fields fill. The checks apply these (cover.py, checks.py, values.py,
across_rows.py); tests/test_return_rules.py holds every code a return's checks raise to
exactly one check here.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from pbr_cli.model.kinds import GROUP_RULES
from pbr_cli.problems import (
    ABOVE_MAXIMUM,
    BEFORE_SCHEME_START,
    BELOW_MINIMUM,
    CATALOGUE,
    COVER_MISSING_FIELD,
    DATE_NOT_BEFORE_START,
    DATE_OUTSIDE_PERIOD,
    DUPLICATE_ROW,
    ENTRY_NOT_ACTIVE,
    ENTRY_OF_OTHER_PROVIDER,
    HIDDEN_DATA,
    HIDDEN_EXTRA_SHEET,
    HIDDEN_SHEET,
    MERGED_CELLS,
    MISSING_COLUMN,
    MISSING_COVER,
    MISSING_ENTRY,
    MISSING_SHEET,
    NAME_MISMATCH,
    PERIOD_MISMATCH,
    PERIOD_OUTSIDE_SCHEME,
    REQUIRED_MISSING,
    UNEXPECTED_COLUMN,
    UNKNOWN_ENTRY,
    UNKNOWN_PROVIDER,
    WRONG_MODEL,
    WRONG_TEMPLATE_VERSION,
    ProblemCode,
)


class Message(NamedTuple):
    """One message a check gives: its problem code and the template its fields fill."""

    code: ProblemCode
    template: str

    def text(self, **fields: Any) -> str:
        return self.template.format(**fields)


class Check:
    """A check: the model keys that ask for it, and its messages (class attributes)."""

    keys: ClassVar[tuple[str, ...]] = ()  # e.g. ("min", "max") on a column; () every return

    @classmethod
    def messages(cls) -> dict[str, Message]:
        return {name: m for klass in reversed(cls.__mro__) for name, m in vars(klass).items()
                if isinstance(m, Message)}

    @classmethod
    def codes(cls) -> set[str]:
        return {m.code.name for m in cls.messages().values()}


class Cover(Check):
    """The Cover sheet: which model, version, provider and month the return is for."""

    NO_COVER = Message(MISSING_COVER, "there is no sheet named '{sheet}' (the return's sheets "
                       "are {sheets}): if it was renamed, name it '{sheet}' again; otherwise "
                       "make the return from the template (pbr template --model {model})")
    BLANK = Message(COVER_MISSING_FIELD, "'{label}' is blank")
    MODEL = Message(WRONG_MODEL, "this return is for the model '{named}', not '{model}'")
    VERSION = Message(WRONG_TEMPLATE_VERSION, "the template is for model version {named}; the "
                      "current version is {version}: copy the figures into a new template")
    LAYOUT = Message(WRONG_TEMPLATE_VERSION, "template layout {named} is not layout {layout}")
    PROVIDER = Message(UNKNOWN_PROVIDER, "the provider code '{provider}' is not in the "
                       "contract register")
    NOT_A_MONTH = Message(PERIOD_MISMATCH, "'{text}' is not a month written YYYY-MM")
    FILED = Message(PERIOD_MISMATCH, "the Cover says {month} but the file is filed under "
                    "{folder}")
    OUTSIDE = Message(PERIOD_OUTSIDE_SCHEME, "{month} is outside the scheme ({start} to {end})")
    NAME_MONTH = Message(NAME_MISMATCH, "the file name says {named} but the Cover says {month}")
    NAME_PROVIDER = Message(NAME_MISMATCH, "the file name names provider {named} but the Cover "
                            "says {provider}")


class Layout(Check):
    """The template's sheets and column headings, and nothing of them hidden or merged."""

    NO_SHEET = Message(MISSING_SHEET, "the sheet '{name}' is missing{hint}")
    NO_COLUMN = Message(MISSING_COLUMN, "the column '{header}' is missing or its heading was "
                        "changed")
    EXTRA_COLUMN = Message(UNEXPECTED_COLUMN, "the column '{header}' is not in the template; "
                           "it is ignored")
    HIDDEN_COLUMN = Message(HIDDEN_DATA, "the column '{header}' is hidden but holds data; "
                            "unhide it")
    HIDDEN_ROW = Message(HIDDEN_DATA, "row {number} is hidden but holds data; unhide it, or "
                         "delete the row if it should not be paid on")
    HIDDEN_SHEET = Message(HIDDEN_SHEET, "the sheet '{name}' is hidden; it was read, but "
                           "unhide it so that what is paid on can be seen")
    EXTRA_SHEET = Message(HIDDEN_EXTRA_SHEET, "the hidden sheet '{name}' is not part of the "
                          "template and is not read; anything to be paid on belongs in the "
                          "template's sheets")
    MERGED = Message(MERGED_CELLS, "cells {ref} are merged; unmerge them and fill each cell")


class Cells(Check):
    """Each cell as its column's `type` (and `codes`): what cells.convert finds, and what the
    reader marked (an error value, a formula, a value its format hides)."""

    keys = ("type", "codes")
    # cells.convert says what is wrong with the value: its detail follows the heading
    CONVERTED = {code: Message(CATALOGUE[code], "{header}: {detail}") for code in (
        "not-a-number", "number-as-text", "not-an-integer", "not-a-date", "date-as-text",
        "date-as-number", "suspicious-characters", "unknown-code")}
    MARKED = {code: Message(CATALOGUE[code], text) for code, text in {
        "error-value": "the cell holds an Excel error value",
        "formula-without-value": "a formula with no saved value; open the file in Excel, let it "
                                 "calculate, and save",
        "formula-in-input": "the cell holds a formula whose saved value pbr cannot check, so "
                            "it is not paid on; type the value itself",
        "invisible-value": "the cell holds a value its number format hides (e.g. ;;;): nobody "
                           "looking at the return can see it; give the cell a format that "
                           "shows it",
        "not-a-date": "the cell is formatted as a date but holds a number no calendar date has",
        "duration-too-long": "the cell is formatted as a duration ([h]:mm:ss) but holds more "
                             "than 999,999,999 days, beyond what a return can hold; type the "
                             "value it should be",
        "same-colour-as-fill": "{detail}: nobody looking at the return can see its value; "
                               "give it a font that shows",
        "font-too-small": "{detail}, too small for anyone looking at the return to read its "
                          "value; give it a font of 4 pt or more",
        "shown-differs": "{detail}: pbr pays only on what is shown; give the cell a format "
                         "that shows its value",
        "conditional-format": "a conditional format {detail}: what is shown may not be what "
                              "the cell holds; remove the conditional format",
    }.items()}

    @classmethod
    def codes(cls) -> set[str]:
        return set(cls.CONVERTED) | set(cls.MARKED)


class Required(Check):
    keys = ("required", "required_when")
    MISSING = Message(REQUIRED_MISSING, "{header} must be filled{why}")


class Dates(Check):
    keys = ("within",)
    OUTSIDE = Message(DATE_OUTSIDE_PERIOD, "{header}: {value} is not in {month}")
    NOT_BEFORE = Message(DATE_NOT_BEFORE_START, "{header}: {value} is not before the scheme "
                         "starts ({start}); an episode that started since belongs with its "
                         "presentation")
    # a row dated within the month, before a scheme starting mid-month: left out
    BEFORE_START = Message(BEFORE_SCHEME_START, "{header}: {value} is before the scheme "
                           "starts ({start}); the row is left out")


class Bounds(Check):
    keys = ("min", "max")
    BELOW = Message(BELOW_MINIMUM, "{header}: {value} is {word} the {what} {limit}")
    ABOVE = Message(ABOVE_MAXIMUM, "{header}: {value} is {word} the {what} {limit}")


class Entries(Check):
    """A sheet's rows and the register: each row's entry is the provider's and active, and
    (`one_row_per: register-entry`) each active entry has a row."""

    keys = ("register", "one_row_per")
    UNKNOWN = Message(UNKNOWN_ENTRY, "the {noun} '{key}' is not in the contract register")
    OTHERS = Message(ENTRY_OF_OTHER_PROVIDER, "the {noun} '{key}' belongs to provider {owner}, "
                     "not {provider}")
    INACTIVE = Message(ENTRY_NOT_ACTIVE, "the contract for {noun} '{key}' is not active in "
                       "{month}")
    NO_ROW = Message(MISSING_ENTRY, "no row for {noun} {key}{label}, whose contract is active "
                     "in {month}")


class DuplicateRows(Check):
    keys = ("key",)
    TWICE = Message(DUPLICATE_ROW, "the same row twice ({shown}); first on row {first}")


class GroupChecks(Check):
    """The model's checks over groups of rows: each kind's code and template are its own
    (pbr_cli/model/kinds.py)."""

    keys = ("checks",)

    @classmethod
    def codes(cls) -> set[str]:
        return {rule.code.name for rule in GROUP_RULES.values()}


CHECKS: tuple[type[Check], ...] = (Cover, Layout, Cells, Required, Dates, Bounds, Entries,
                                   DuplicateRows, GroupChecks)

"""Problems found in inputs: a plain record, and the catalogue of every stable code.

Checks produce Problems; nothing here prints. The CLI renders them as a table or JSON.
docs/problem-codes.md is generated from CATALOGUE (a test fails if they drift). A code a
return's checks raise is also a name here (e.g. DUPLICATE_ROW): the check that raises it
declares it with its message template (pbr_cli/returns/rules.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class Severity(StrEnum):
    """How bad a problem is."""

    FATAL = "fatal"  # the file cannot be used at all (exit code 2)
    ERROR = "error"  # the return cannot be paid on as it is
    WARNING = "warning"


FATAL, ERROR, WARNING = Severity.FATAL, Severity.ERROR, Severity.WARNING


class FileStatus(StrEnum):
    """A return's state after its checks (pbr validate), worst first."""

    UNUSABLE = "unusable"  # cannot be read at all (exit code 2)
    ERRORS = "errors"  # read, with errors: its provider's payment is withheld
    WARNINGS = "warnings"  # read, with warnings only
    CLEAN = "clean"


@dataclass(frozen=True)
class Problem:
    file: str
    severity: Severity  # a plain word is taken and made the Severity (a misspelt one raises)
    code: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None  # the column letter, e.g. "D"
    provider: str | None = None  # the provider whose payment it concerns, when one does
    affects_payment: bool = False  # it changed or stopped a payment (cap, £0 factor, withheld)
    # what it did to the provider's payment, in words: the schedule's note (not in the JSON,
    # whose message says it with the provider)
    note: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if type(self.severity) is not Severity:
            object.__setattr__(self, "severity", Severity(self.severity))

    @classmethod
    def on_payment(cls, file: str, severity: Severity, code: str, provider: str,
                   note: str) -> Problem:
        """A problem that changed or stopped one provider's payment."""
        return cls(file, severity, code, f"provider {provider}: {note}", provider=provider,
                   affects_payment=True, note=note)

    @property
    def is_error(self) -> bool:
        """An error or worse: the return cannot be paid on as it is."""
        return self.severity in (ERROR, FATAL)

    @property
    def cell(self) -> str | None:
        """`Outcomes!D14`, `Outcomes!14` (a whole row) or `Outcomes` (a whole sheet)."""
        if self.sheet is None:
            return None
        if self.row is None:
            return self.sheet if self.column is None else f"{self.sheet}!{self.column}:{self.column}"
        return f"{self.sheet}!{self.column or ''}{self.row}"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["note"]
        out["cell"] = self.cell
        return out


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class ProblemCode(NamedTuple):
    """A stable code: its usual severity and what it means (unpacked, as the catalogue's
    entries always were, as (severity, meaning, ...))."""

    severity: Severity
    meaning: str
    name: str


# code -> (usual severity, meaning). Severity "fatal" means the file could not be used at all
# (exit code 2).
_CODES: dict[str, tuple[str, str]] = {
    # The file itself
    "file-not-found": ("fatal", "The file does not exist or cannot be opened."),
    "not-a-workbook": ("fatal", "The file is not an xlsx workbook (e.g. a CSV or text renamed .xlsx)."),
    "legacy-xls": ("fatal", "The file is an old-style .xls workbook; save it as .xlsx."),
    "encrypted-workbook": ("fatal", "The workbook is password-protected; send it without a password."),
    "corrupt-workbook": ("fatal", "The workbook is damaged or truncated and cannot be read."),
    "workbook-too-large": ("fatal", "The workbook or a sheet is larger than pbr's documented limits."),
    "empty-file": ("fatal", "The file is empty."),
    "reader-failed": ("fatal", "Reading the file made the spreadsheet reader crash, run out of its memory limit or its time limit; the file cannot be used, and every other return is read as usual."),
    "unsafe-workbook": ("fatal", "The file looks hostile (a zip bomb, an XML bomb, thousands of parts) and is refused unread."),
    "hidden-sheet-look-alike": ("fatal", "A sheet pbr would read is hidden while a visible sheet bears its name (but for spaces, case or look-alike characters): a person would review the visible one, so the return is refused."),
    "hidden-data": ("fatal", "Rows or columns of a return sheet are hidden but hold data; unhide them (or delete them) so that what is paid on can be seen."),
    # The return's cover and layout
    "missing-cover": ("error", "The return has no Cover sheet saying which model, provider and month it is for."),
    "cover-missing-field": ("error", "A field on the Cover sheet is blank."),
    "wrong-model": ("fatal", "The return was made from another scheme's template."),
    "wrong-template-version": ("fatal", "The return was made from an older or newer template version."),
    "unknown-provider": ("error", "The provider code on the Cover sheet is not in the contract register."),
    "period-mismatch": ("error", "The month on the Cover sheet is not a valid month or disagrees with the folder it is in."),
    "period-outside-scheme": ("error", "The month is outside the scheme's start and end."),
    "missing-sheet": ("error", "A sheet the template has is missing or renamed."),
    "missing-column": ("error", "A column heading the template has is missing or changed."),
    "unexpected-column": ("warning", "A column heading the template does not have; its values are ignored."),
    "hidden-sheet": ("fatal", "A sheet pbr reads (the Cover or one the model names) is hidden or very hidden: a person reviewing the return cannot see what would be paid on, so the return is refused."),
    "hidden-extra-sheet": ("warning", "A hidden sheet that is not part of the template; it is not read."),
    "merged-cells": ("error", "Merged cells inside the data area; unmerge them and fill each cell."),
    # Values
    "required-missing": ("error", "A cell that must be filled is blank."),
    "not-a-number": ("error", "A number column holds something that is not a number."),
    "number-as-text": ("error", "A number was typed as text (e.g. '12 or 12 stored as text)."),
    "not-an-integer": ("error", "A whole-number column holds a fraction."),
    "below-minimum": ("error", "A number is smaller than allowed."),
    "above-maximum": ("error", "A number is larger than allowed."),
    "not-a-date": ("error", "A date column holds something that is not a date."),
    "duration-too-long": ("error", "A cell formatted as a duration ([h]:mm:ss) holds more than 999,999,999 days: beyond what a return can hold; type the value it should be."),
    "date-as-text": ("error", "A date was typed as text (e.g. '01/06/2013'); enter it as a date."),
    "date-as-number": ("error", "A date column holds a plain number (a date serial in a General cell)."),
    "date-outside-period": ("error", "A date falls outside the month of the return."),
    "date-not-before-start": ("error", "An opening caseload's episode start is not before the scheme starts: that episode's presentation belongs on the presentations sheet."),
    "suspicious-characters": ("error", "Text holds a character nobody can see (a zero-width space, a soft hyphen, a control mark) or, in a return's identifiers, one that only looks like a plain letter (a Cyrillic С, a fullwidth letter is made plain) or a space: one client would become two."),
    "before-scheme-start": ("warning", "A row's own date falls before the scheme starts (a scheme starting mid-month); the row is left out of the calculation."),
    "unknown-code": ("error", "A code column holds a value that is not in its list."),
    "formula-without-value": ("error", "A formula with no calculated value saved; open the file in Excel, let it calculate, and save."),
    "error-value": ("error", "A cell holds an Excel error such as #N/A or #DIV/0!."),
    "formula-in-input": ("error", "A cell of a return holds a formula whose saved value pbr cannot check (a link to another workbook, a function it does not work out) or that is not what the formula gives; type the value. A formula pbr works out to the value saved with it is read as shown (docs/limits.md)."),
    "invisible-value": ("fatal", "A cell holds a value its number format hides (;;;): nobody looking at the return can see what would be paid on."),
    "font-too-small": ("fatal", "A cell holds a value in a font under 4 points: nobody looking at the return can read what would be paid on."),
    "same-colour-as-fill": ("fatal", "A cell holds a value in a font the colour of its fill (white on white): nobody looking at the return can see what would be paid on."),
    "shown-differs": ("error", "A cell's number format shows another value than the one it holds (a literal \"300\" on 0, 0, dividing by 1,000, a date without its day), or one pbr cannot render: pbr pays only on what is shown."),
    "conditional-format": ("error", "A conditional format on a cell changes its number format or font colour, or hides its value behind a data bar: what is shown may not be what is held."),
    "duplicate-row": ("error", "Two rows have the same key (e.g. the same client and outcome twice)."),
    # The register
    "unknown-entry": ("error", "The row names a register entry (e.g. a service) that is not in the contract register."),
    "entry-of-other-provider": ("error", "The row names a register entry that belongs to another provider."),
    "entry-not-active": ("warning", "The row names a register entry whose contract is not active in the month."),
    "missing-entry": ("error", "One of the provider's active register entries has no row."),
    # Checks across rows
    "group-too-few-rows": ("warning", "A group (e.g. a client) has fewer rows than the model expects."),
    "group-missing-values": ("warning", "A group (e.g. a client) lacks values the model makes mandatory."),
    # Client-level records (episodes are built across all of a scheme's returns)
    "discharge-without-episode": ("error", "A discharge names an episode start on which the client did not present to this provider."),
    "episode-already-discharged": ("error", "A second discharge for an episode that has already ended."),
    "overlapping-episodes": ("error", "A client presents to a provider while an earlier episode there is still open."),
    "review-outside-episode": ("error", "A review falls outside every episode of the client at this provider."),
    "group-changed": ("error", "A record gives a different group (e.g. complexity) from the one set when its episode started."),
    "episode-assumed": ("warning", "A discharge names an episode whose presentation month has no return; the episode is taken from the discharge row."),
    "record-left-out": ("warning", "A client-level row is left out of the calculation (an earlier month's row with an error, or a row no episode can be found for)."),
    # Calculation
    "no-return": ("warning", "No return was found for a provider and month the calculation needs."),
    "return-has-errors": ("error", "The provider's return for the month has errors; nothing is paid until it is corrected."),
    "history-incomplete": ("fatal", "A month's calculation reads months before go-live (its rolling windows, or a cohort's episodes since the scheme start) for which nothing is filed: nothing is drafted (a warning on a what-if)."),
    "history-return-excluded": ("warning", "An earlier month's return with errors is left out of a rolling window."),
    "duplicate-return": ("error", "Two returns for the same provider and month, neither named as the later version (-v2, -v3...)."),
    "resubmitted": ("warning", "A corrected return (named -v2, -v3...) replaces an earlier one for the same provider and month; the earlier one is not used."),
    "name-mismatch": ("error", "The file's name gives a provider or month that disagrees with its Cover sheet."),
    "ids-differ-in-case": ("warning", "Two client ids differ only in case (C100, c100): they are taken as two clients unless the model says cohort.client_case: same."),
    "client-at-two-providers": ("warning", "A client presents to a provider while an episode at another provider is still open (two providers treating one client, or one id used for two people)."),
    "cap-reached": ("warning", "A provider's payments reached its annual cap; the lines beyond it are reduced."),
    "calculation-failed": ("error", "A formula could not be worked out for an entry (e.g. a division by zero)."),
    "rows-not-counted": ("warning", "A measure's `where` condition could not be worked out for some of an entry's rows (it reads a blank figure): they are not counted, and the warning says how many and which."),
    "earlier-month-not-approved": ("warning", "A formula reads what was paid before (`paid_before`, `paid_before_in_year`) and an earlier month it reads is not approved in the ledger (a draft, not calculated, or before go-live): it counts as nothing paid."),
    "participants-contract-unknown": ("warning", "A provider holds several register entries (contracts) in the month but its attachments name none: every participant is paid on the first, with its figures."),
    # The payment cycle and the ledger (docs/payment-cycle.md); each stops the command, exit code 2
    "bad-month-folder": ("fatal", "The returns folder holds a folder not named exactly YYYY-MM (e.g. 2013-8), a return filed outside any month folder, an archive (pbr opens none) or a hidden folder named like a month (.2013-10); under a folder named to `pbr validate`, an archive."),
    "nothing-to-do": ("fatal", "`pbr run` found no scheme to run: none listed in the config and no models in its models folder."),
    "no-config": ("fatal", "No config file was found (--config, $PBR_CONFIG, ./pbr.yaml, the user's config folder) for a command that keeps or reads a ledger or writes into the config's folders; the message says where pbr looked. `pbr init DIR` makes one."),
    "bad-config": ("fatal", "The config file (pbr.yaml) cannot be read, or has an unknown key or a wrong value."),
    "bad-ledger": ("fatal", "The ledger, its lock or its log is not a regular file (a symbolic link, a folder), or cannot be opened."),
    "ledger-unreachable": ("fatal", "The ledger's PostgreSQL database cannot be reached (the server is down, the name, user or password is wrong, or the psycopg package is not installed); nothing was calculated into it."),
    "ledger-tampered": ("fatal", "The ledger does not verify: a record's content, a total or a fingerprint does not match its hash chain; a record is unsigned after a signed one, or signed by a key the config does not name, or approved by someone who may not approve it; or it lacks the head the log recorded."),
    "no-signing-key": ("fatal", "The config names who signs the ledger (`keys`), but this officer has no usable key: none in the keys folder, several and no $PBR_KEY, or one the config does not name. Nothing was recorded; `pbr keys new NAME` makes one."),
    "key-exists": ("fatal", "`pbr keys new NAME` where a key of that name exists: a key is never written over."),
    "bad-key": ("fatal", "A key file cannot be used: a symbolic link, readable by others than its owner, or not an Ed25519 private key as `pbr keys new` writes."),
    "not-an-approver": ("fatal", "The officer's key may not approve the month: not among the scheme's `approvers`, or (with `four_eyes`) the officer who signed the draft. Nothing was recorded."),
    "bad-statement": ("fatal", "`pbr ledger verify --against FILE`: the file is not a statement of a ledger's head as `pbr ledger head` writes it."),
    "ledger-missing": ("fatal", "The ledger is missing, empty or holds no record while the log (or a rotated copy of it) or the output folder show earlier runs; restore it, or start a new one with `pbr ledger init --force`."),
    "live-ledger": ("fatal", "A what-if (other returns, register or model than the config's) names the live ledger with --ledger, by whatever path: a what-if is recorded only in a ledger of its own."),
    "ledger-exists": ("fatal", "`pbr ledger init` where a ledger already exists."),
    "ledger-not-writable": ("fatal", "The ledger could not record the run (a full disk, a read-only folder); nothing was recorded and no schedule written."),
    "output-not-writable": ("fatal", "A schedule, report or the log cannot be written."),
    "statement-differs": ("fatal", "A statement of an approved month was asked for, but the month's figures worked out now differ from the approved run (a return, the register or the model changed since): the difference is paid as an adjustment with the next month."),
    "statement-lost": ("fatal", "A provider's statement could not be written: the worker process writing it took longer than its deadline, ran out of memory or ended; no half-made file takes a statement's name."),
    "output-exists": ("fatal", "The approved schedule's file exists already but is not one this ledger approved."),
    "no-draft": ("fatal", "`pbr approve` for a month that has no draft: calculate it first."),
    "not-approved": ("fatal", "`pbr approve` at a terminal: the approver answered no when shown the draft's warnings that change payments; nothing was recorded."),
    "not-the-draft": ("fatal", "`pbr approve` names a run or SHA-256 that is not the month's current draft."),
    "stale-draft": ("fatal", "The draft was worked out before the approvals since (or while earlier months were unapproved): calculate the month again."),
    "already-approved": ("fatal", "The month is approved already; an approved month is never approved or rewritten again."),
    "approve-in-order": ("fatal", "An earlier month is not approved yet: months are approved in order from go-live."),
    "month-not-ended": ("fatal", "The month has not ended yet: it is approved once it is over."),
    "already-sampled": ("fatal", "`pbr assure sample` for a period sampled already: a recorded sample is never drawn again."),
    "not-sampled": ("fatal", "`pbr assure sample` for a month not approved, or a model without `assurance:`; `pbr assure record` of a workbook whose sample is not in the ledger."),
    "already-recorded": ("fatal", "`pbr assure record` for a sample whose verdicts are recorded already: what was recovered stands."),
    "bad-verdicts": ("fatal", "The checkers' workbook does not hold one verdict from the list for every sampled item, with a reason for each invalid one; the message names the sheet and cell."),
    "inputs-changed": ("fatal", "The returns, model or register are not those the run recorded: its schedule cannot be approved or made again."),
    # The command itself: each stops it (exit code 2, or 3 for `locked`)
    "forecast-no-months": ("fatal", "`pbr forecast`: no month of the period (or of the scheme) has returns recorded, so there is nothing to project from."),
    "budget-missing": ("fatal", "`pbr forecast`: the config gives no budget for the scheme and period (or names a register column the register does not have); add one, or give --no-budget."),
    "bad-what-if": ("fatal", "`pbr forecast --what-if`: not a form pbr understands, or it names a parameter, measure, outcome or result the model does not have."),
    "usage": ("fatal", "The command's options do not go together (e.g. --output for several schemes, --publish with --returns)."),
    "bad-period": ("fatal", "The period is not a month 2013-06, a quarter 2013-Q2, a financial year 2013/14, its quarter 2013/14-Q1 or a range 2013-04..2013-09."),
    "unknown-model": ("fatal", "No model of that name in the models folder."),
    "bad-model-name": ("fatal", "A model name with characters a file name cannot safely hold."),
    "unreadable-model": ("fatal", "The model file cannot be read (missing, not a regular file, too large, not UTF-8)."),
    "model-tests-invalid": ("fatal", "A model's tests file (<model>.tests.yaml) cannot be read as tests (`pbr models test` names the line)."),
    "model-invalid": ("fatal", "The model breaks the model language (`pbr models check` names the key and line)."),
    "register-invalid": ("fatal", "The contract register cannot be read, or its rows break the model's register columns."),
    "locked": ("fatal", "Another run holds the ledger's lock (exit code 3; --wait waits for it)."),
    "output-too-large": ("fatal", "An output table would not fit on one Excel sheet; no file is written (it is never cut short)."),
    "not-publishable": ("fatal", "The publication's audit failed (e.g. the same months were published under another authority's key); nothing was written."),
}

# Codes that models add for their own rule warnings are documented in the model itself.
CATALOGUE: dict[str, ProblemCode] = {
    name: ProblemCode(Severity(severity), meaning, name)
    for name, (severity, meaning) in _CODES.items()}

# The codes a return's checks raise, by name (a misspelt one fails on import).
READER_FAILED = CATALOGUE["reader-failed"]
HIDDEN_DATA = CATALOGUE["hidden-data"]
MISSING_COVER = CATALOGUE["missing-cover"]
COVER_MISSING_FIELD = CATALOGUE["cover-missing-field"]
WRONG_MODEL = CATALOGUE["wrong-model"]
WRONG_TEMPLATE_VERSION = CATALOGUE["wrong-template-version"]
UNKNOWN_PROVIDER = CATALOGUE["unknown-provider"]
PERIOD_MISMATCH = CATALOGUE["period-mismatch"]
PERIOD_OUTSIDE_SCHEME = CATALOGUE["period-outside-scheme"]
MISSING_SHEET = CATALOGUE["missing-sheet"]
MISSING_COLUMN = CATALOGUE["missing-column"]
UNEXPECTED_COLUMN = CATALOGUE["unexpected-column"]
HIDDEN_SHEET = CATALOGUE["hidden-sheet"]
HIDDEN_EXTRA_SHEET = CATALOGUE["hidden-extra-sheet"]
MERGED_CELLS = CATALOGUE["merged-cells"]
REQUIRED_MISSING = CATALOGUE["required-missing"]
NOT_A_NUMBER = CATALOGUE["not-a-number"]
NUMBER_AS_TEXT = CATALOGUE["number-as-text"]
NOT_AN_INTEGER = CATALOGUE["not-an-integer"]
BELOW_MINIMUM = CATALOGUE["below-minimum"]
ABOVE_MAXIMUM = CATALOGUE["above-maximum"]
NOT_A_DATE = CATALOGUE["not-a-date"]
DURATION_TOO_LONG = CATALOGUE["duration-too-long"]
DATE_AS_TEXT = CATALOGUE["date-as-text"]
DATE_AS_NUMBER = CATALOGUE["date-as-number"]
DATE_OUTSIDE_PERIOD = CATALOGUE["date-outside-period"]
DATE_NOT_BEFORE_START = CATALOGUE["date-not-before-start"]
SUSPICIOUS_CHARACTERS = CATALOGUE["suspicious-characters"]
BEFORE_SCHEME_START = CATALOGUE["before-scheme-start"]
UNKNOWN_CODE = CATALOGUE["unknown-code"]
FORMULA_WITHOUT_VALUE = CATALOGUE["formula-without-value"]
ERROR_VALUE = CATALOGUE["error-value"]
FORMULA_IN_INPUT = CATALOGUE["formula-in-input"]
INVISIBLE_VALUE = CATALOGUE["invisible-value"]
SAME_COLOUR_AS_FILL = CATALOGUE["same-colour-as-fill"]
SHOWN_DIFFERS = CATALOGUE["shown-differs"]
CONDITIONAL_FORMAT = CATALOGUE["conditional-format"]
DUPLICATE_ROW = CATALOGUE["duplicate-row"]
UNKNOWN_ENTRY = CATALOGUE["unknown-entry"]
ENTRY_OF_OTHER_PROVIDER = CATALOGUE["entry-of-other-provider"]
ENTRY_NOT_ACTIVE = CATALOGUE["entry-not-active"]
MISSING_ENTRY = CATALOGUE["missing-entry"]
GROUP_TOO_FEW_ROWS = CATALOGUE["group-too-few-rows"]
GROUP_MISSING_VALUES = CATALOGUE["group-missing-values"]
DUPLICATE_RETURN = CATALOGUE["duplicate-return"]
RESUBMITTED = CATALOGUE["resubmitted"]
NAME_MISMATCH = CATALOGUE["name-mismatch"]

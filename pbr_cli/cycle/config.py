"""Where things live: models, returns, outputs. From pbr.yaml, --config or PBR_CONFIG.

    models: models            # folder of model YAML files
    returns: sample_returns   # returns are filed as RETURNS/<model>/<YYYY-MM>/*.xlsx
    output: out               # schedules are written to OUTPUT/<model>/
    ledger: out/ledger.sqlite # every recorded run (default: OUTPUT/ledger.sqlite), or a
                              # shared PostgreSQL database: postgresql://pbr@db.example/pbr
    log: out/pbr.log          # what `pbr run` did (default: OUTPUT/pbr.log)
    schemes: [a, b]           # what `pbr run` calculates (default: every model)
    cache: out/.cache         # checked returns, so unchanged files are not read again

`schemes` may also be a mapping that says, per scheme, from which month the ledger accounts
for it and how its months are approved (see docs/payment-cycle.md):

    schemes:
      pilot-scheme: {approval: automatic}   # a virtual pilot: nothing is really paid
      real-scheme: {go_live: 2013-04}       # approval: manual (the default)
      other-scheme: {budget: {2013/14: 1200000}}  # `pbr forecast` (docs/forecast.md)

Who signs the ledger's records (docs/payment-cycle.md, "Signed records"): `keys` names each
officer's public key (anyone named may record runs and publications; a key retired after a
record: `{key: "ed25519:...", until: 120}`, or a list of keys for one person), and each
scheme says who may approve its months and whether its approver must not be the officer who
calculated the draft:

    keys: {"J. Smith": "ed25519:...", "cron": "ed25519:..."}
    schemes:
      real-scheme: {approvers: ["J. Smith"], four_eyes: true}

The authority's publication key (docs/publication.md, "One key per authority"): the key
file every publication of every scheme of the council is rounded with, the same file in
every config of the authority (else $PBR_PUBLICATION_KEY names it):

    publication_key: //fileserver/pbr-keys/council.pbrkey

Paths are relative to the config file. Without a config file, the defaults above are taken
relative to the working directory (returns default to ./returns). $PBR_LEDGER, when set,
names the ledger instead; $PBR_CACHE the cache folder (`off` turns it off).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.ledger.db import Where, ledger_place
from pbr_cli.ledger.publication_key import ENV
from pbr_cli.ledger.signing import NamedKey, Trust, public_bytes
from pbr_cli.periods import Month

KEYS = ("models", "returns", "output", "ledger", "log", "schemes", "cache", "keys",
        "publication_key")
SCHEME_KEYS = ("go_live", "approval", "statements", "budget", "approvers", "four_eyes")
APPROVALS = ("manual", "automatic")
MAX_CONFIG_BYTES = 1024 * 1024
WINDOWS = os.name == "nt"
LOOKED_FOR = "--config, $PBR_CONFIG, ./pbr.yaml, the user's config folder (~/.config/pbr)"


@dataclass(frozen=True)
class SchemeSettings:
    """How the ledger accounts for one scheme: from which month (default: the scheme's
    start), and whether its months are approved by a person (`pbr approve`) or as they are
    calculated."""

    go_live: Month | None = None
    approval: str = "manual"
    statements: bool = False  # `pbr run` writes each provider's statement with the schedule
    # what the commissioner has to spend (`pbr forecast`): period text -> pounds, and/or
    # "register" -> a register column of each entry's annual budget
    budget: dict[str, Any] = field(default_factory=dict)
    approvers: tuple[str, ...] = ()  # who may approve its months (by the config's `keys`)
    four_eyes: bool = False  # its approver must not be the officer who signed the draft

    @property
    def automatic(self) -> bool:
        return self.approval == "automatic"


@dataclass(frozen=True)
class Config:
    models: Path
    returns: Path
    output: Path
    source: Path | None
    ledger_file: Where | None = None
    log_file: Path | None = None
    schemes: tuple[str, ...] = ()
    cache_folder: Path | None = None
    settings: dict[str, SchemeSettings] = field(default_factory=dict)
    trust: Trust = field(default_factory=Trust)  # whose signatures count (no keys: none)
    publication_key_file: Path | None = None  # the authority's publication key file

    @property
    def publication_key(self) -> Path | None:
        """The authority's publication key file: the config's `publication_key`, else
        $PBR_PUBLICATION_KEY; None: neither names one."""
        if self.publication_key_file is not None:
            return self.publication_key_file
        return Path(os.environ[ENV]) if os.environ.get(ENV) else None

    def scheme(self, name: str) -> SchemeSettings:
        return self.settings.get(name, SchemeSettings())

    @property
    def ledger_overridden(self) -> bool:
        """The ledger named by $PBR_LEDGER rather than by the config."""
        return bool(os.environ.get("PBR_LEDGER"))

    @property
    def cache(self):
        """The cache of checked returns ($PBR_CACHE, `cache:`, or OUTPUT/.cache), or None."""
        from pbr_cli.cache import ReturnCache

        return ReturnCache.for_folder(self.cache_folder or self.output / ".cache")

    @property
    def ledger(self) -> Where:
        """The ledger: a file, or a PostgreSQL database named by its URL."""
        if os.environ.get("PBR_LEDGER"):
            return ledger_place(os.environ["PBR_LEDGER"])
        return self.ledger_file or self.output / "ledger.sqlite"

    @property
    def log(self) -> Path:
        return self.log_file or self.output / "pbr.log"

    def returns_for(self, model_name: str) -> Path:
        return self.returns / model_name

    def output_for(self, model_name: str) -> Path:
        return self.output / model_name


def shipped_models() -> Path | None:
    """The models shipped with pbr: inside the installed package, or the repository's
    models/ folder when pbr runs from a checkout."""
    here = Path(__file__).resolve().parents[1]  # the package
    for candidate in (here / "shipped_models", here.parent / "models"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    return None


def user_config() -> Path | None:
    """pbr.yaml in the user's config folder: %APPDATA%\\pbr on Windows, else
    $XDG_CONFIG_HOME/pbr (~/.config/pbr)."""
    if WINDOWS:
        base = os.environ.get("APPDATA")
        folder = Path(base) / "pbr" if base else None
    else:
        base = os.environ.get("XDG_CONFIG_HOME")
        folder = (Path(base) if base else Path.home() / ".config") / "pbr"
    path = folder / "pbr.yaml" if folder is not None else None
    return path if path is not None and path.is_file() else None


def load_config(path: Path | None = None, required: bool = False) -> Config:
    """The config from `path`, $PBR_CONFIG, ./pbr.yaml or the user's. Without one, the
    defaults relative to the working directory; unless `required` (every command that
    keeps or reads a ledger, or writes into the config's folders), which refuses: a ledger,
    lock and outputs made wherever the command happens to be run would be no one's."""
    chosen = path or (Path(os.environ["PBR_CONFIG"]) if os.environ.get("PBR_CONFIG") else None)
    if chosen is None and Path("pbr.yaml").is_file():
        chosen = Path("pbr.yaml")
    if chosen is None:
        chosen = user_config()
    if chosen is None:
        if required:
            raise PbrError(f"no config file: looked for {LOOKED_FOR} in {Path.cwd()}; make a "
                           "folder for your authority with `pbr init DIR` (see README) or "
                           "give --config", code="no-config")
        models = Path("models")
        if not models.is_dir():  # no folder of one's own yet: the models shipped with pbr
            models = shipped_models() or models
        return Config(models, Path("returns"), Path("out"), None)
    from pbr_cli.files import TooLarge, read_bounded
    from pbr_cli.model.yamlread import YamlProblem, read_yaml

    try:
        raw = read_bounded(chosen, MAX_CONFIG_BYTES)
        text = raw.decode("utf-8")
        data, _ = read_yaml(text)
    except TooLarge:
        raise PbrError(f"{chosen}: a config file is at most 1 MB", code="bad-config") from None
    except OSError as exc:
        raise PbrError(f"cannot read the config file {chosen}: {exc.strerror}",
                       code="bad-config") from None
    except UnicodeDecodeError as exc:
        raise PbrError(f"{chosen}: not UTF-8 text (byte {exc.start})", code="bad-config") from None
    except YamlProblem as exc:
        raise PbrError(f"{chosen}:{exc.line}: {exc.message}", code="bad-config") from None
    data = data or {}
    if not isinstance(data, dict):
        raise PbrError(f"{chosen}: expected keys {', '.join(KEYS)}", code="bad-config")
    unknown = sorted(str(k) for k in set(data) - set(KEYS))
    if unknown:
        raise PbrError(f"{chosen}: unknown key(s) {', '.join(unknown)}; known: "
                       f"{', '.join(KEYS)}", code="bad-config")
    base = Path(chosen).parent
    schemes, settings = _schemes(chosen, data.get("schemes"))
    return Config(
        models=base / str(data.get("models", "models")),
        returns=base / str(data.get("returns", "returns")),
        output=base / str(data.get("output", "out")),
        source=Path(chosen),
        ledger_file=ledger_place(str(data["ledger"]), base) if data.get("ledger") else None,
        log_file=base / str(data["log"]) if data.get("log") else None,
        schemes=schemes,
        cache_folder=base / str(data["cache"]) if data.get("cache") else None,
        settings=settings,
        trust=_trust(chosen, data.get("keys"), settings),
        publication_key_file=(base / str(data["publication_key"])
                              if data.get("publication_key") else None),
    )


def _schemes(chosen: Path, value) -> tuple[tuple[str, ...], dict[str, SchemeSettings]]:
    if not value:
        return (), {}
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return tuple(value), {}
    if not isinstance(value, dict):
        raise PbrError(f"{chosen}: schemes must be a list of model names, or a mapping of "
                       "model names to their settings (go_live, approval, statements, budget)",
                       code="bad-config")
    settings: dict[str, SchemeSettings] = {}
    for name, spec in value.items():
        spec = spec or {}
        if not isinstance(spec, dict):
            raise PbrError(f"{chosen}: schemes: {name}: expected go_live, approval, "
                           "statements or budget",
                           code="bad-config")
        unknown = sorted(str(k) for k in set(spec) - set(SCHEME_KEYS))
        if unknown:
            raise PbrError(f"{chosen}: schemes: {name}: unknown key(s) {', '.join(unknown)}; "
                           f"known: {', '.join(SCHEME_KEYS)}", code="bad-config")
        go_live = spec.get("go_live")
        if go_live is not None:
            text = str(go_live)
            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
                raise PbrError(f"{chosen}: schemes: {name}: go_live must be a month written "
                               f"YYYY-MM, e.g. 2013-04, not '{text}'", code="bad-config")
            go_live = Month.parse(text)
        approval = str(spec.get("approval", "manual"))
        if approval not in APPROVALS:
            raise PbrError(f"{chosen}: schemes: {name}: approval is manual or automatic, not "
                           f"'{approval}'", code="bad-config")
        statements = spec.get("statements", False)
        if not isinstance(statements, bool):
            raise PbrError(f"{chosen}: schemes: {name}: statements is true or false, not "
                           f"'{statements}'", code="bad-config")
        budget = _budget(chosen, name, spec.get("budget"))
        approvers = spec.get("approvers", [])
        if not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers):
            raise PbrError(f"{chosen}: schemes: {name}: approvers is a list of names from "
                           f"`keys`, e.g. approvers: [\"J. Smith\"], not '{approvers}'",
                           code="bad-config")
        four_eyes = spec.get("four_eyes", False)
        if not isinstance(four_eyes, bool):
            raise PbrError(f"{chosen}: schemes: {name}: four_eyes is true or false, not "
                           f"'{four_eyes}'", code="bad-config")
        if four_eyes and approval == "automatic":
            raise PbrError(f"{chosen}: schemes: {name}: four_eyes needs a second officer to "
                           "approve, so approval cannot be automatic", code="bad-config")
        settings[str(name)] = SchemeSettings(go_live, approval, statements, budget,
                                             tuple(approvers), four_eyes)
    return tuple(settings), settings


def _budget(chosen: Path, name: str, value) -> dict[str, Any]:
    """A scheme's budget: `{2013/14: 1200000}` (pounds for a period, as `pbr forecast
    --period` names it), or `{register: annual_budget}` (a register column of each entry's
    budget for a year)."""
    if value is None:
        return {}
    where = f"{chosen}: schemes: {name}: budget"
    if not isinstance(value, dict) or not value:
        raise PbrError(f"{where}: expected a period and its amount, e.g. "
                       "budget: {2013/14: 1200000}, or budget: {register: COLUMN}",
                       code="bad-config")
    out: dict[str, Any] = {}
    for key, amount in value.items():
        if str(key) == "register":
            if not isinstance(amount, str) or not amount:
                raise PbrError(f"{where}: register names a register column, not "
                               f"'{amount}'", code="bad-config")
            out["register"] = amount
            continue
        try:
            pounds = Decimal(str(amount).replace(",", "").lstrip("£"))
        except InvalidOperation:
            pounds = None
        if (pounds is None or isinstance(amount, bool) or not pounds.is_finite() or pounds < 0
                or pounds != pounds.quantize(Decimal("0.01"))):
            raise PbrError(f"{where}: {key}: '{amount}' is not an amount in pounds (e.g. "
                           "1200000 or 1200000.50)", code="bad-config")
        out[str(key).strip()] = pounds.quantize(Decimal("0.01"))
    return out


def _trust(chosen: Path, value, settings: dict[str, SchemeSettings]) -> Trust:
    """`keys: {NAME: "ed25519:...", ...}` and the schemes' approvers: whose signatures count."""
    if value is None:
        named: dict[str, tuple[NamedKey, ...]] = {}
    elif not isinstance(value, dict):
        raise PbrError(f'{chosen}: keys: expected names and public keys, e.g. keys: {{"J. '
                       'Smith": "ed25519:..."}} (`pbr keys new` prints the line)',
                       code="bad-config")
    else:
        named = {str(name): _named_keys(chosen, str(name), spec)
                 for name, spec in value.items()}
    for scheme, s in settings.items():
        unknown = [a for a in s.approvers if a not in named]
        if unknown:
            raise PbrError(f"{chosen}: schemes: {scheme}: approvers: {', '.join(unknown)} "
                           "not named in `keys`", code="bad-config")
    return Trust(named, {n: s.approvers for n, s in settings.items() if s.approvers},
                 frozenset(n for n, s in settings.items() if s.four_eyes))


def _named_keys(chosen: Path, name: str, spec) -> tuple[NamedKey, ...]:
    where = f"{chosen}: keys: {name}"
    specs = spec if isinstance(spec, list) else [spec]
    out = []
    for one in specs:
        until = None
        if isinstance(one, dict):
            unknown = sorted(str(k) for k in set(one) - {"key", "until"})
            until = one.get("until")
            if unknown or (until is not None and (isinstance(until, bool)
                                                  or not isinstance(until, int) or until < 0)):
                raise PbrError(f"{where}: a retired key is {{key: \"ed25519:...\", until: N}}, "
                               "N the last record it signed", code="bad-config")
            one = one.get("key")
        try:
            public_bytes(one)
        except ValueError as exc:
            raise PbrError(f"{where}: {str(one)[:60]!r} is not a public key as `pbr keys new` "
                           f"prints it ({exc})", code="bad-config") from None
        out.append(NamedKey(one, until))
    if not out:
        raise PbrError(f"{where}: no key", code="bad-config")
    return tuple(out)

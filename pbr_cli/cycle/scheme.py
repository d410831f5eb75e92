"""A scheme as configured: its model, contract register, returns folder, ledger and log, made
in one place and handed to every job.

What the command line names instead of the config's (another returns folder, register,
model file or ledger) is said here once, and so is what it makes of a calculation: with
returns, a register or a model other than the config's it is a **what-if**, recorded in no
ledger unless `--ledger` names one for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pbr_cli.cycle.config import Config, SchemeSettings, load_config
from pbr_cli.cycle.runlog import RunLog
from pbr_cli.cycle.state import LedgerChoice, go_live
from pbr_cli.model.records import Model
from pbr_cli.periods import Month

if TYPE_CHECKING:
    from pbr_cli.pricing.earlier import Paid
    from pbr_cli.pricing.records import Schedule
    from pbr_cli.returns.collect import Collection
    from pbr_cli.returns.register import Register

Progress = Callable[[int, int, Path], None]  # (files read, files in all, the file)


@dataclass(frozen=True)
class Configured:
    """The config a command runs under, and the ledger it names instead of the config's:
    the one place the ledger is chosen (`ledger`) and the log named."""

    cfg: Config
    ledger_named: str | Path | None = None  # a ledger instead of the config's

    @classmethod
    def load(cls, config: Path | None, *, ledger: str | Path | None = None,
             required: bool = True) -> Configured:
        """The config: --config, $PBR_CONFIG, ./pbr.yaml, the user's (`required`: one must
        be found; every command over a ledger needs one)."""
        return cls(load_config(config, required=required), ledger)

    @cached_property
    def ledger(self) -> LedgerChoice:
        return LedgerChoice.of(self.cfg, self.ledger_named)

    @cached_property
    def log(self) -> RunLog:
        return RunLog(self.cfg.log)

    def scheme(self, model: Model, progress: Progress | None = None) -> Scheme:
        """One of the config's schemes, with the ledger named here."""
        return Scheme(self.cfg, self.ledger_named, model=model, progress=progress)

    def scheme_named(self, name: str) -> Scheme:
        """The scheme whose model the config's models folder holds under `name`."""
        from pbr_cli.model import find_model, load_model

        return self.scheme(load_model(find_model(name, self.cfg.models)))


@dataclass(frozen=True, kw_only=True)
class Scheme(Configured):
    """One scheme as configured, and what the command named instead of the config's."""

    model: Model
    returns_named: Path | None = None  # a returns folder instead of the config's
    register_named: Path | None = None  # a contract register instead of the model's
    progress: Progress | None = None  # told of each return as it is read

    def __post_init__(self) -> None:
        if self.ledger_named is not None and self.other_inputs \
                and self.ledger.is_live(self.ledger.place):
            from pbr_cli.errors import PbrError
            from pbr_cli.names import shown

            live = self.cfg.ledger_file or self.cfg.output / "ledger.sqlite"
            raise PbrError(f"--ledger {shown(self.ledger_named)} is the live ledger (the "
                           f"config's, {shown(live)}): a what-if (returns, register "
                           "or model other than the config's) is recorded only in a ledger of "
                           "its own; name another file", code="live-ledger")

    @classmethod
    def named(cls, config: Path | None, model_name: str, *, returns: Path | None = None,
              register: Path | None = None, ledger: str | Path | None = None,
              progress: Progress | None = None, required: bool = True) -> Scheme:
        """The config (--config, $PBR_CONFIG, ./pbr.yaml, the user's) and the model named
        in it (or a model file), with what the command named instead of the config's.
        `required`: a config must be found (not for a command that only reads a model)."""
        from pbr_cli.model import find_model, load_model

        cfg = load_config(config, required=required)
        model = load_model(find_model(model_name, cfg.models))
        return cls(cfg, ledger, model=model, returns_named=returns, register_named=register,
                   progress=progress)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def settings(self) -> SchemeSettings:
        return self.cfg.scheme(self.model.name)

    @property
    def output(self) -> Path:
        """The scheme's output folder: the config's; for a ledger named with --ledger, a
        folder of that ledger's own — beside it (a file), or under the config's named after
        it (a database) — so that what it records never stands among, or replaces, the
        schedules of the config's ledger."""
        own = self.cfg.output_for(self.model.name)
        if self.ledger_named is None:
            return own
        place = self.ledger.place
        if isinstance(place, Path):
            return place.parent / self.model.name
        import hashlib

        return own / f"ledger-{hashlib.sha256(str(place).encode()).hexdigest()[:12]}"

    @property
    def model_from_config(self) -> bool:
        """The model is the config's own file (not a draft or a copy elsewhere)."""
        own = self.cfg.models / f"{self.model.name}.yaml"
        return own.is_file() and Path(self.model.path).resolve() == own.resolve()

    @property
    def other_inputs(self) -> bool:
        """Returns, a register or a model other than the config's."""
        return (self.returns_named is not None or self.register_named is not None
                or not self.model_from_config)

    @property
    def model_words(self) -> str:
        """How a command names this model: by name, or by its file when not the config's."""
        from pbr_cli.names import shown

        return self.model.name if self.model_from_config else shown(self.model.path)

    @property
    def named_words(self) -> str:
        """The options that name what this command named instead of the config's, to say
        the next command in the same words (' --returns R --ledger L'; '' when none)."""
        from pbr_cli.names import shown

        pairs = (("--returns", self.returns_named), ("--register", self.register_named),
                 ("--ledger", self.ledger_named))
        return "".join(f" {option} {shown(value)}" for option, value in pairs
                       if value is not None)

    @property
    def what_if(self) -> bool:
        """Other inputs than the config's with no ledger named for them: worked out and
        shown, recorded in no ledger."""
        return self.other_inputs and self.ledger_named is None

    @cached_property
    def register(self) -> Register:
        from pbr_cli.returns.register import load_register

        return load_register(self.model, self.register_named)

    @cached_property
    def root(self) -> Path:
        """The returns folder named, or the config's for the scheme: there, and filed by
        month."""
        from pbr_cli.returns.folders import checked_root

        named = self.returns_named
        return checked_root(Path(named) if named else self.cfg.returns_for(self.model.name))

    @property
    def go_live(self) -> Month:
        return go_live(self.cfg, self.model)

    def unfiled_history(self, month: Month, collection: Collection) -> list[Month]:
        """The months before go-live whose returns the month's calculation reads (its
        history: pricing.history_months) and for which nothing is filed — no return and no
        month folder (an empty folder says none came). After go-live a month without a
        provider's return is that provider's missing return, withheld and adjusted when it
        comes; before go-live nothing would ever mend it."""
        from pbr_cli.pricing import history_months

        filed = {r.month for r in collection.returns}
        return [m for m in history_months(self.model, month)
                if m < self.go_live and m < month and m not in filed
                and not (self.root / str(m)).is_dir()]

    def read(self, months: list[Month], compact_records: bool = False) -> Collection:
        """Every return the months need, read and checked once (the cache first); with
        `compact_records`, their client-level records held compact and their tables let
        go (pricing reads them only through the history)."""
        from pbr_cli.pricing.worth import read_months

        return read_months(self.cfg.cache, self.model, self.register, self.root, months,
                           self.progress, compact_records)

    def schedule(self, month: Month, collection: Collection,
                 earlier: Paid | None = None, last: bool = False) -> Schedule:
        """The month's schedule, worked out from the returns read (and what was paid for
        earlier months, where a formula reads it); `last`: the caller works out nothing more
        from the collection's records (pricing.worth.month_schedule)."""
        from pbr_cli.pricing.worth import month_schedule

        return month_schedule(self.model, self.register, month, collection, earlier, last)

"""Projected returns that fail a check: a defect of the projection, never a forecast.

Every projected return is priced by pricing.calculate as a real one is, so it meets every
check made across returns (an episode discharged twice, a review outside every episode, a
claim for a participant never attached...). A real return with an error is withheld and
its provider paid nothing; a projected one with an error would make the forecast fall for
no reason a commissioner could see. So each simulation's errors on projected returns are
gathered here, counted over the simulations, and said in the assumptions, the workbook, the
console and the JSON. Nothing here prices or draws anything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pbr_cli.problems import ERROR, Problem

PROJECTED = "projected"  # the path of a projected return starts with this (simulate.py)
SUMMARY = "return-has-errors"  # the error that counts a return's others


@dataclass(frozen=True)
class SimulationDefects:
    """One simulation's projected returns with an error: each return's path -> its codes."""

    made: int  # projected returns made (provider-months)
    failed: dict[str, frozenset[str]] = field(default_factory=dict)
    example: str = ""  # one error in full, as pbr would say it of a real return


def simulation_defects(problems: list[Problem], made: int) -> SimulationDefects:
    """The errors among `problems` that are a projected return's."""
    failed: dict[str, set[str]] = {}
    example = ""
    for p in problems:
        if p.severity == ERROR and p.file.startswith(PROJECTED + "/"):
            failed.setdefault(p.file, set()).add(p.code)
            if not example or (p.code != SUMMARY and SUMMARY in example):
                example = f"{p.file}: {p.code}: {p.message}"  # (the error itself, not its sum)
    return SimulationDefects(made, {k: frozenset(v) for k, v in failed.items()}, example)


@dataclass(frozen=True)
class Defects:
    """Over every simulation of an outlook: how many had a projected return with an error,
    how many projected returns did of how many made, how many had each error code."""

    simulations: int = 0
    of_simulations: int = 0
    returns: int = 0
    of_returns: int = 0
    codes: tuple[tuple[str, int], ...] = ()  # code -> projected returns with it, most first
    example: str = ""

    @staticmethod
    def gather(each: list[SimulationDefects]) -> Defects:
        codes: Counter[str] = Counter()
        for s in each:
            for found in s.failed.values():
                codes.update(found)
        return Defects(sum(1 for s in each if s.failed), len(each),
                       sum(len(s.failed) for s in each), sum(s.made for s in each),
                       tuple(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))),
                       next((s.example for s in each if s.example), ""))

    def said(self) -> str:
        """In words, for the assumptions."""
        if not self.simulations:
            return (f"Every projected return passed pbr's checks as a real one would "
                    f"({self.of_returns} projected provider-months in {self.of_simulations} "
                    "simulations).")
        codes = ", ".join(f"{code} {n}" for code, n in self.codes)
        return (f"{self.simulations} of {self.of_simulations} simulations made a projected "
                f"return that fails pbr's checks ({self.returns} of {self.of_returns} "
                f"projected provider-months: {codes}); such a provider-month is withheld and "
                "paid nothing, so the forecast is too low. This is a fault of the projection, "
                f"not of any return: please report it. For example: {self.example}")

    def as_json(self) -> dict[str, object]:
        return {"simulations": self.simulations, "of_simulations": self.of_simulations,
                "returns": self.returns, "of_returns": self.of_returns,
                "codes": dict(self.codes), "example": self.example or None}

"""The schema's building blocks — a key, a section of keys, a list or a map of them — and
the rolling window both measures and cohorts use (pbr_cli/model/schema.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    name: str
    kind: Any  # a type word, a Section, ListOf or MapOf
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    example: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    doc: str
    keys: tuple[Key, ...]
    # keys a model writer may reach for here that mean something else: what to write instead
    instead: tuple[tuple[str, str], ...] = ()

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    value: Any
    doc: str = ""


WINDOW = Section(
    "Window",
    "A rolling window of whole months ending with the period month, never before the scheme "
    "start.",
    (Key("months", "integer", "How many months, including the period month.", required=True),),
)

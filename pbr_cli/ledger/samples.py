"""The ledger's assurance records (docs/assurance.md): each scheme's sampling key, each
period's sample of paid items as it was drawn, and the checkers' verdicts on it.

A sample is recorded once per scheme and period, before any evidence is asked for, signed
where runs are; the verdicts on it once. Both are in the hash chain, so `pbr ledger verify`
finds either changed. The key is made at a scheme's first draw, kept in the ledger (chained,
not signed: the signed sample after it covers it), and never shown to a provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.ledger.records import now_utc


@dataclass(frozen=True)
class StoredSample:
    """A sample as drawn: its scheme, period, the approved run it was drawn from, who drew it
    and when, and what it holds (`content`: the method, each provider's items and totals)."""

    id: int
    model: str
    period: str
    run_id: int
    drawn_at: str
    drawn_by: str
    content: dict[str, Any]

    @classmethod
    def of(cls, row: Any) -> StoredSample:
        return cls(int(row["id"]), row["model"], row["period"], int(row["run_id"]),
                   row["drawn_at"], row["drawn_by"], _json(row["content"], f"sample {row['id']}"))


@dataclass(frozen=True)
class StoredVerdicts:
    """The checkers' verdicts on a sample, as recorded: each item's, and each provider's
    recovery worked out from them (`content`)."""

    id: int
    sample_id: int
    model: str
    period: str
    recorded_at: str
    recorded_by: str
    file_sha256: str
    content: dict[str, Any]

    @classmethod
    def of(cls, row: Any) -> StoredVerdicts:
        return cls(int(row["id"]), int(row["sample_id"]), row["model"], row["period"],
                   row["recorded_at"], row["recorded_by"], row["file_sha256"],
                   _json(row["content"], f"verdicts {row['id']}"))


def _json(text: Any, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise PbrError(f"the ledger holds {str(text)[:40]!r} as the content of {where}: it has "
                       "been changed outside pbr; `pbr ledger verify` says where",
                       code="bad-ledger")
    return value


class SampleRecords:
    """What the ledger keeps of assurance, for `Ledger` (store.py) to hold beside its runs."""

    db: Any
    signer: Any
    _write: Callable[[Callable[[], int]], int]
    _append: Callable[..., None]
    _next_id: Callable[[str], int]

    def sample_key(self, model: str) -> bytes | None:
        """The scheme's sampling key (None before its first draw)."""
        row = self.db.execute("SELECT key FROM sample_keys WHERE model = ?", (model,)).fetchone()
        return bytes.fromhex(row["key"]) if row is not None else None

    def sample_of(self, model: str, period: str) -> StoredSample | None:
        row = self.db.execute("SELECT * FROM samples WHERE model = ? AND period = ?",
                              (model, period)).fetchone()
        return StoredSample.of(row) if row is not None else None

    def samples(self, model: str) -> list[StoredSample]:
        return [StoredSample.of(r) for r in self.db.execute(
            "SELECT * FROM samples WHERE model = ? ORDER BY id", (model,)).fetchall()]

    def verdicts_of(self, sample_id: int) -> StoredVerdicts | None:
        row = self.db.execute("SELECT * FROM verdicts WHERE sample_id = ?",
                              (sample_id,)).fetchone()
        return StoredVerdicts.of(row) if row is not None else None

    def verdicts(self, model: str) -> list[StoredVerdicts]:
        return [StoredVerdicts.of(r) for r in self.db.execute(
            "SELECT * FROM verdicts WHERE model = ? ORDER BY id", (model,)).fetchall()]

    def record_sample(self, model: str, period: str, run_id: int, drawn_by: str,
                      draw: Callable[[bytes], dict[str, Any]]) -> StoredSample:
        """Draw and record a period's sample in one transaction: the scheme's key made first
        where it has none, `draw(key)` the sample drawn with it. A period drawn already is
        refused."""
        import secrets

        def action() -> int:
            if self.sample_of(model, period) is not None:
                raise PbrError(f"{model} {period} has been sampled already: a recorded sample "
                               "is never drawn again", code="already-sampled")
            key = self.sample_key(model)
            if key is None:
                key = secrets.token_bytes(32)
                self._append("sample_key", {"id": self._next_id("sample_keys"), "model": model,
                                            "key": key.hex(), "created_at": now_utc()})
            content = draw(key)
            row = {"id": self._next_id("samples"), "model": model, "period": period,
                   "run_id": run_id, "drawn_at": now_utc(), "drawn_by": drawn_by,
                   "content": json.dumps(content, sort_keys=True),
                   "signer": self.signer.text if self.signer else ""}
            self._append("sample", row)
            return int(row["id"])

        self._write(action)
        found = self.sample_of(model, period)
        assert found is not None  # (just recorded)
        return found

    def record_verdicts(self, sample: StoredSample, recorded_by: str, file_sha256: str,
                        content: dict[str, Any]) -> int:
        """Record the verdicts on a sample (once)."""
        def action() -> int:
            if self.verdicts_of(sample.id) is not None:
                raise PbrError(f"the verdicts on {sample.model} {sample.period}'s sample are "
                               "recorded already: what was recovered stands",
                               code="already-recorded")
            row = {"id": self._next_id("verdicts"), "sample_id": sample.id,
                   "model": sample.model, "period": sample.period, "recorded_at": now_utc(),
                   "recorded_by": recorded_by, "file_sha256": file_sha256,
                   "content": json.dumps(content, sort_keys=True),
                   "signer": self.signer.text if self.signer else ""}
            self._append("verdicts", row)
            return int(row["id"])

        return self._write(action)

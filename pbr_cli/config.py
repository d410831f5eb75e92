"""Where things live: models, returns, outputs. From pbr.yaml, --config or PBR_CONFIG.

    models: models            # folder of model YAML files
    returns: sample_returns   # returns are filed as RETURNS/<model>/<YYYY-MM>/*.xlsx
    output: out               # schedules are written to OUTPUT/<model>/
    ledger: out/ledger.sqlite # every recorded run (default: OUTPUT/ledger.sqlite)
    log: out/pbr.log          # what `pbr run` did (default: OUTPUT/pbr.log)
    schemes: [a, b]           # what `pbr run` calculates (default: every model)
    cache: out/.cache         # checked returns, so unchanged files are not read again

Paths are relative to the config file. Without a config file, the defaults above are taken
relative to the working directory (returns default to ./returns). $PBR_LEDGER, when set,
names the ledger instead; $PBR_CACHE the cache folder (`off` turns it off).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pbr_cli.errors import PbrError

KEYS = ("models", "returns", "output", "ledger", "log", "schemes", "cache")


@dataclass(frozen=True)
class Config:
    models: Path
    returns: Path
    output: Path
    source: Path | None
    ledger_file: Path | None = None
    log_file: Path | None = None
    schemes: tuple[str, ...] = ()
    cache_folder: Path | None = None

    @property
    def cache(self):
        """The cache of checked returns ($PBR_CACHE, `cache:`, or OUTPUT/.cache), or None."""
        from pbr_cli.cache import ReturnCache

        return ReturnCache.for_folder(self.cache_folder or self.output / ".cache")

    @property
    def ledger(self) -> Path:
        if os.environ.get("PBR_LEDGER"):
            return Path(os.environ["PBR_LEDGER"])
        return self.ledger_file or self.output / "ledger.sqlite"

    @property
    def lock(self) -> Path:
        """The file whose lock one ledger writer holds at a time."""
        return self.ledger.with_name(self.ledger.name + ".lock")

    @property
    def log(self) -> Path:
        return self.log_file or self.output / "pbr.log"

    def returns_for(self, model_name: str) -> Path:
        return self.returns / model_name

    def output_for(self, model_name: str) -> Path:
        return self.output / model_name


def load_config(path: Path | None = None) -> Config:
    chosen = path or (Path(os.environ["PBR_CONFIG"]) if os.environ.get("PBR_CONFIG") else None)
    if chosen is None and Path("pbr.yaml").is_file():
        chosen = Path("pbr.yaml")
    if chosen is None:
        return Config(Path("models"), Path("returns"), Path("out"), None)
    from pbr_cli.model.yamlread import YamlProblem, read_yaml

    try:
        data, _ = read_yaml(Path(chosen).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PbrError(f"cannot read the config file {chosen}: {exc.strerror}",
                       code="bad-config") from None
    except YamlProblem as exc:
        raise PbrError(f"{chosen}:{exc.line}: {exc.message}", code="bad-config") from None
    data = data or {}
    if not isinstance(data, dict):
        raise PbrError(f"{chosen}: expected keys {', '.join(KEYS)}", code="bad-config")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise PbrError(f"{chosen}: unknown key(s) {', '.join(unknown)}; known: "
                       f"{', '.join(KEYS)}", code="bad-config")
    base = Path(chosen).parent
    schemes = data.get("schemes") or []
    if not isinstance(schemes, list) or not all(isinstance(s, str) for s in schemes):
        raise PbrError(f"{chosen}: schemes must be a list of model names", code="bad-config")
    return Config(
        models=base / str(data.get("models", "models")),
        returns=base / str(data.get("returns", "returns")),
        output=base / str(data.get("output", "out")),
        source=Path(chosen),
        ledger_file=base / str(data["ledger"]) if data.get("ledger") else None,
        log_file=base / str(data["log"]) if data.get("log") else None,
        schemes=tuple(schemes),
        cache_folder=base / str(data["cache"]) if data.get("cache") else None,
    )

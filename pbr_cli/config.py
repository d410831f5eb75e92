"""Where things live: models, returns, outputs. From pbr.yaml, --config or PBR_CONFIG.

    models: models            # folder of model YAML files
    returns: sample_returns   # returns are filed as RETURNS/<model>/<YYYY-MM>/*.xlsx
    output: out               # schedules are written to OUTPUT/<model>/

Paths are relative to the config file. Without a config file, the defaults above are taken
relative to the working directory (returns default to ./returns).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pbr_cli.errors import PbrError

KEYS = ("models", "returns", "output")


@dataclass(frozen=True)
class Config:
    models: Path
    returns: Path
    output: Path
    source: Path | None

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
    return Config(
        models=base / str(data.get("models", "models")),
        returns=base / str(data.get("returns", "returns")),
        output=base / str(data.get("output", "out")),
        source=Path(chosen),
    )

"""`pbr models ...`: list, check and describe the schemes' models."""

from __future__ import annotations

from pathlib import Path

import typer

from pbr_cli.cli.common import (
    HELP,
    ConfigOpt,
    Group,
    JsonOpt,
    fail,
)
from pbr_cli.errors import EXIT_OK, EXIT_PROBLEMS, PbrError

models_app = typer.Typer(
    cls=Group, help="List and describe the schemes' models.", no_args_is_help=True,
                         rich_markup_mode=None, context_settings=HELP)


@models_app.command("list")
def models_list(ctx: typer.Context, config: Path | None = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """List the models in the models folder (without a config: those shipped with pbr)."""
    import json

    from pbr_cli.cycle.config import load_config
    from pbr_cli.model import list_models, load_model

    try:
        cfg = load_config(config)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    rows = []
    for path in list_models(cfg.models):
        try:
            m = load_model(path)
            rows.append({"model": m.name, "title": m.title, "start": m.start.isoformat(),
                         "end": m.end.isoformat(), "payments": "virtual" if m.virtual
                         else "real", "file": str(path), "problem": None})
        except PbrError as exc:
            rows.append({"model": path.stem, "title": None, "start": None, "end": None,
                         "payments": None, "file": str(path),
                         "problem": exc.message.splitlines()[0]})
    if as_json:
        typer.echo(json.dumps({"schema": 1, "folder": str(cfg.models), "models": rows},
                              indent=2))
        return
    if not rows:
        typer.echo(f"No models in {cfg.models}.")
        return
    width = max(24, *(len(str(r["model"])) for r in rows))  # every title in one column
    for r in rows:
        if r["problem"]:
            typer.echo(f"{r['model']:<{width}} BROKEN: {r['problem']}")
        else:
            typer.echo(f"{r['model']:<{width}} {r['title']} ({r['start']} to {r['end']}, "
                       f"{r['payments']} payments)")


@models_app.command("check")
def models_check(files: list[str] = typer.Argument(..., help="Model files (or model names).",
                                                   show_default=False),
                 config: Path | None = ConfigOpt) -> None:
    """Check models without running them: unknown or misspelt keys, wrong types, names of
    columns, measures or codes that do not exist, bands that do not increase, groups without
    prices, windows longer than the scheme, and the contract register beside the model.

    Every mistake is given with file, line and key path; so is each warning (what a model may
    mean but seldom does: said, not refused). Exit code 0 when all are sound (warnings or
    not), 2 otherwise; 1 when a model's own tests (<model>.tests.yaml) fail. Example:

      pbr models check models/my-scheme.yaml
    """
    from pbr_cli.cycle.config import load_config
    from pbr_cli.model import find_model, load_model
    from pbr_cli.returns.register import load_register

    code = EXIT_OK
    for name in files:
        try:
            path = Path(name) if Path(name).is_file() else find_model(name, load_config(config).models)
            warnings: list[str] = []
            register = load_register(load_model(path))
            model = load_model(path, warnings, register.entries)  # what an entry decides too
        except PbrError as exc:
            typer.echo(f"pbr: {exc.message}", err=True)
            code = max(code, exc.exit_code)
            continue
        for warning in warnings:
            typer.echo(warning)
        said = f", with {len(warnings)} warning(s) above" if warnings else ""
        typer.echo(f"{path}: sound{said}. {model.title} ({model.start} to {model.end}, "
                   f"{'virtual' if model.virtual else 'real'} payments): "
                   f"{len(model.sheets)} return sheet(s), {len(model.measures)} measure(s), "
                   f"{len(model.payments)} payment component(s); register {register.path} "
                   f"with {len(register.entries)} row(s).")
        from pbr_cli.jobs.model_tests import tests_file

        if tests_file(model).is_file():
            code = max(code, _run_tests(model))
    raise typer.Exit(code)


def _run_tests(model) -> int:
    """Run a model's tests and say each case's result; the exit code they give."""
    from pbr_cli.jobs.model_tests import run_model_tests, tests_file

    try:
        results = run_model_tests(model)
    except PbrError as exc:
        typer.echo(f"pbr: {exc.message}", err=True)
        return exc.exit_code
    for result in results:
        typer.echo(f"  {'ok    ' if result.passed else 'FAILED'} {result.name}")
        for failure in result.failures:
            typer.echo(f"           {failure}")
    failed = sum(1 for r in results if not r.passed)
    typer.echo(f"{tests_file(model)}: {len(results) - failed} of {len(results)} case(s) pass.")
    return EXIT_PROBLEMS if failed else EXIT_OK


@models_app.command("test")
def models_test(names: list[str] = typer.Argument(..., help="Model names (or files).",
                                                  show_default=False),
                config: Path | None = ConfigOpt) -> None:
    """Run each model's worked examples: the cases in <model>.tests.yaml beside it, each a
    month's returns written inline and what each provider is paid (docs/models.md, "Model
    tests"). Exit code 0 when every case passes, 1 when one fails (each difference is said, to
    the penny), 2 when a model or its tests cannot be read. Example:

      pbr models test MODEL
    """
    from pbr_cli.cycle.config import load_config
    from pbr_cli.model import find_model, load_model

    code = EXIT_OK
    for name in names:
        try:
            path = Path(name) if Path(name).is_file() else find_model(name, load_config(config).models)
            model = load_model(path)
        except PbrError as exc:
            typer.echo(f"pbr: {exc.message}", err=True)
            code = max(code, exc.exit_code)
            continue
        code = max(code, _run_tests(model))
    raise typer.Exit(code)


@models_app.command("show")
def models_show(ctx: typer.Context, name: str = typer.Argument(..., help="Model name."),
                config: Path | None = ConfigOpt) -> None:
    """Describe what a model pays for, in words."""
    try:
        from pbr_cli.cycle.scheme import Scheme
        from pbr_cli.model.describe import describe_model

        model = Scheme.named(config, name, required=False).model
    except PbrError as exc:
        fail(ctx, exc)
    typer.echo(describe_model(model))

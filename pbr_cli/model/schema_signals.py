"""The model language's schema, its `signals` section: which signals of gaming `pbr report`
and `pbr assure signals` work out for the scheme, and their settings (docs/assurance.md).
Part of schema.py's MODEL."""

from __future__ import annotations

from pbr_cli.model.schema_parts import Key, Section
from pbr_cli.model.signals import SIGNAL_NAMES

SIGNALS = Section(
    "Signals",
    "Signals of gaming a commissioner can act on: each provider's figure, its own history and "
    "its peers, an exact test, and a question to ask. Signals never change a payment. Worked "
    "out for cohort models (docs/assurance.md says which signal reads what).",
    (
        Key("checks", "names", "The signals to work out, by name: "
            + ", ".join(f"`{n}`" for n in SIGNAL_NAMES) + ".", required=True,
            example="[creaming, parking, churn]"),
        Key("false_discovery", "number", "The share of raised signals that may be false alarms, "
            "controlled across providers and signals by the Benjamini-Hochberg rule "
            "(default 0.05).", example="0.05"),
        Key("parking_months", "integer", "`parking`: an open episode with nothing recorded "
            "(no review, no discharge) for this many whole months (default 3).", example="3"),
        Key("days_around", "integer", "`churn`: the days just after the anti-churn window "
            "compared with the days just before it (default 30).", example="30"),
        Key("band_margin", "number", "`bands`: a rolling proportion within this of a band's "
            "lower bound, above or below it (default 0.02).", example="0.02"),
        Key("deadline_days", "integer", "`deadline`: the last days of a month, compared with "
            "as many days before them (default 3).", example="3"),
        Key("closed", "names", "`closed_days`: the days of the week the service is closed "
            "(monday ... sunday).", example="[saturday, sunday]"),
        Key("round", Section("Round figures", "Which figures `round_figures` looks at.", (
            Key("columns", "names", "Integer columns of the reviews sheet.", required=True,
                example="[days_used, nights_out]"),
            Key("multiple", "integer", "A value above zero that is a multiple of this is "
                "round.", required=True, example="7"),
        )), "`round_figures`: the figures and what counts as round."),
    ),
)

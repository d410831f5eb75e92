"""The model language's schema, its `report` section: how `pbr report` presents a scheme
(rates, the loss flag, small providers, the publication's base). Part of schema.py's MODEL."""

from __future__ import annotations

from pbr_cli.model.schema_parts import Key, ListOf, Section

RATE = Section(
    "Rate",
    "A rate the period report shows month by month, per provider and for all providers: the "
    "sum of a numerator over the provider's entries divided by the sum of a denominator.",
    (
        Key("name", "text", "Short name.", required=True, example="utilisation"),
        Key("label", "text", "Heading in reports.", required=True),
        Key("numerator", "text", "A measure or number register column, summed over entries.",
            required=True, example="occupied_days"),
        Key("denominator", "text", "A measure or number register column, summed over entries.",
            required=True, example="capacity_days"),
        Key("counts", "bool", "The numerator and denominator count people or their outcomes: "
            "`pbr report --publish` publishes them, rounded, with a share worked out from them "
            "(default false: not published)."),
    ),
)

REPORT = Section(
    "Report",
    "How `pbr report` presents the scheme over a period. Every key has a default.",
    (
        Key("rates", ListOf(RATE), "Rates shown month by month (cohort models also show each "
            "outcome's proportion)."),
        Key("loss_share", "number", "Flag a provider whose PbR total over the period falls short "
            "of the comparison (e.g. block) by more than this share of it (default 0.05).",
            example="0.05"),
        Key("small_provider", Section("Small provider", "Which providers count as small.", (
            Key("column", "text", "A money register column, summed over the provider's entries.",
                required=True, example="annual_value"),
            Key("below", "number", "Small when the sum is below this.", required=True,
                example="250000"),
        )), "Which providers are small (their loss flags say so)."),
        Key("publish_min_count", "integer", "`pbr report --publish`: each provider's month "
            "figure is rounded at random to a multiple of this, so no count can be narrowed "
            "to fewer than this many values (default 5, and at least 5; a published scheme's base "
            "never changes; docs/publication.md).", example="5"),
        Key("publish_identity", "text", "`pbr report --publish`: the scheme's publication "
            "identity, part of every record's key, shown with the authority's key's "
            "fingerprint on every release (default: the model's name). Set it to the old name "
            "before renaming a published model, so its records keep rounding the same "
            "(docs/publication.md).", example="youth-employment"),
    ),
)

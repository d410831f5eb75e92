"""The schema of the client-level rules: a cohort model's episodes, outcomes, bands and
tariff; a per-participant model's fees, results, refusals and maxima. pbr_cli/model/schema.py
holds the rest of the model language and the checks against it."""

from __future__ import annotations

from pbr_cli.model.schema_parts import WINDOW, Key, ListOf, MapOf, Section

SHEET_REF = Section(
    "Record sheet",
    "Where one kind of client-level record lives.",
    (
        Key("sheet", "text", "The return sheet.", required=True, example="Presentations"),
        Key("date", "text", "The column holding the record's date.", required=True),
        Key("episode_start", "text", "Discharges only: the column giving the start (presentation "
            "date) of the episode that ends."),
    ),
)

BAND = Section(
    "Band",
    "One band of an outcome's price table.",
    (
        Key("from", "number", "The lowest proportion in the band (inclusive), e.g. 0.25.",
            required=True),
        Key("price", "money", "The price per outcome event in pounds.", required=True),
    ),
)

OUTCOME = Section(
    "Outcome",
    "A cohort outcome: one event per episode at most, a proportion per provider and group over "
    "the window, and a price from that proportion's band.",
    (
        Key("name", "text", "Short name.", required=True, example="completion"),
        Key("label", "text", "Heading in schedules.", required=True),
        Key("event", "text",
            "discharge: a discharge for which `when` is true; the proportion is such episodes / "
            "episodes in treatment at any time in the window. first-review: the episode's first "
            "review for which `when` is true; the proportion is episodes with such a review in "
            "the window / episodes with any review in the window. follow-up: `months` after the "
            "event of outcome `after`, if the client did not present again anywhere; the "
            "proportion is such follow-ups ending in the window / all follow-ups ending in it.",
            required=True, choices=("discharge", "first-review", "follow-up")),
        Key("when", "formula", "For discharge and first-review: which records count, a formula "
            "over the record's columns.", example='discharge_reason in ("TCDF", "TCOU")'),
        Key("after", "text", "For follow-up: the outcome whose event starts it."),
        Key("months", "integer", "For follow-up: its length in calendar months."),
        Key("bands", MapOf(ListOf(BAND)), "Per group code, the price bands, lowest first. Below "
            "the first band the price is 0. Leave out for an outcome that is reported, not paid."),
        Key("description", "text", "What the outcome is, in words."),
    ),
)

COHORT = Section(
    "Cohort",
    "Client-level rules. Returns list presentations, discharges and reviews per client; pbr "
    "builds episodes (one client at one provider, from presentation to discharge) from every "
    "return since the scheme start, across all providers.",
    (
        Key("client", "text", "The column holding the client id on every record sheet.",
            required=True, example="client_id"),
        Key("client_case", "text", "`distinct` (the default): client ids that differ only in "
            "case are two clients, and pbr warns (`ids-differ-in-case`); `same`: they are one "
            "client (compared in capitals)."),
        Key("group", "text", "The code column holding the episode's group, set at presentation; "
            "other record sheets that carry it must agree.", required=True, example="complexity"),
        Key("presentations", SHEET_REF, "Presentations: each starts an episode.", required=True),
        Key("discharges", SHEET_REF, "Discharges: each ends the episode that started on its "
            "`episode_start`.", required=True),
        Key("reviews", SHEET_REF, "Outcome reviews inside an episode."),
        Key("opening", SHEET_REF, "The opening caseload: clients already in treatment when "
            "the scheme starts, one row an episode, its `date` the episode's start (before the "
            "scheme starts). Each row starts an episode as a presentation would, but earns no "
            "tariff; it counts for the anti-churn rule. Usually an `optional` sheet filled in "
            "the provider's first return."),
        Key("window", WINDOW, "The rolling window proportions are measured over.", required=True),
        Key("tariff", Section("Tariff", "A price for each new presentation.", (
            Key("name", "text", "Short name.", required=True),
            Key("label", "text", "Heading in schedules.", required=True),
            Key("prices", MapOf("money"), "Price per group code.", required=True),
            Key("churn_months", "integer", "No tariff when the client presented (anywhere) in "
                "this many calendar months before.", required=True),
            Key("same_day", "text", "`once` (the default): one tariff a client a day across "
                "providers, to the provider first by code, the others refused (two providers "
                "on one day is the easy way round the churn rule); `each`: every provider's "
                "presentation is paid on its own merits."),
            Key("description", "text", "In words."),
        )), "The presentation tariff."),
        Key("outcomes", ListOf(OUTCOME), "The outcomes, paid and reported-only.", required=True),
        Key("cap", "text", "A register column (money) holding each provider's maximum payment "
            "per financial year (1 April to 31 March); blank means no cap."),
    ),
)

FEE = Section(
    "Fee",
    "A fee paid when a participant is attached (e.g. an up-front attachment fee).",
    (
        Key("name", "text", "Short name.", required=True, example="attachment"),
        Key("label", "text", "Heading in schedules.", required=True),
        Key("base", "price", "The full fee in pounds, before the year's share; a formula may "
            "read the participant's attachment row (e.g. its payment group).", required=True,
            example="4000"),
        Key("shares", MapOf("number"), "Per financial year (`\"2013/14\"`), the share of `base` "
            "paid for a participant attached in that year. Every year the scheme touches needs "
            "one.", required=True),
        Key("description", "text", "In words."),
    ),
)

REFUSAL = Section(
    "Refusal",
    "A claim the result is not paid on: refused, saying why, and counting towards nothing; the "
    "rest of the return is paid.",
    (
        Key("when", "formula", "A condition over the claim row's columns, the participant's "
            "attachment row (its attachment date too), the provider's register entry, the "
            "parameters and the facts of the month of the return the claim is in "
            "(`period_start`, `period_end`, `days_in_month`); when it holds, the claim is "
            "refused. A parameter by date is read at its value on the date achieved, as a "
            "price is.", required=True, example='evidence != "LETTER"'),
        Key("reason", "text", "Why, in words, as the Evidence sheet says it.", required=True),
    ),
)

RESULT = Section(
    "Result",
    "A payment for a result claimed for a participant.",
    (
        Key("name", "text", "Short name.", required=True, example="employment"),
        Key("label", "text", "Heading in schedules.", required=True),
        Key("when_all", "texts", "Claim codes that must all be claimed for the participant; the "
            "result is paid on the claim that completes them."),
        Key("when_any", "texts", "Claim codes any one of which is the result."),
        Key("amount", "price", "The price in pounds (or a formula, e.g. a parameter)."),
        Key("to_total", "price", "Instead of a price: pays what brings the participant's fees "
            "and this `once_in` group's payments up to this total."),
        Key("once_in", "text", "A word naming a group of results of which a participant is paid "
            "at most one (e.g. `results`)."),
        Key("deflator", "number", "The share of the price taken off for results that would have "
            "happened anyway (default 0)."),
        Key("every_weeks", "integer", "Sustainment: paid again for a claim at least this many "
            "weeks from every one already paid (a late claim between two is paid when it "
            "overlaps neither)."),
        Key("up_to", "count", "With `every_weeks`: the most payments per participant "
            "(default 1)."),
        Key("after", "text", "Paid only once this other result has been paid for the "
            "participant; with `every_weeks`, the first payment at least that many weeks after "
            "it (sustainment after a job outcome)."),
        Key("weeks_after_attachment", "integer", "Paid only for a claim achieved at least this "
            "many weeks after the participant's attachment."),
        Key("refused_when", ListOf(REFUSAL), "Claims not paid on: a signed letter missing, "
            "earnings below a threshold, evidence self-certified, a claim after day 700 from "
            "attachment."),
        Key("description", "text", "In words."),
    ),
    instead=(("when", "a result is paid on claim codes, not on a condition: `when_any: [CODE, "
              "...]` (any one of them) or `when_all: [CODE, ...]` (all of them)"),),
)

PARTICIPANTS = Section(
    "Participants",
    "Per-participant rules (a family, a person): fees on attachment, results by routes, a "
    "maximum per participant.",
    (
        Key("id", "text", "The column holding the participant's id on both sheets.",
            required=True, example="family_id"),
        Key("attachments", Section("Attachments", "The sheet of attachments.", (
            Key("sheet", "text", "The return sheet.", required=True),
            Key("date", "text", "Its attachment date column.", required=True),
        )), "Attachments: a participant joins the programme.", required=True),
        Key("claims", Section("Claims", "The sheet of result claims.", (
            Key("sheet", "text", "The return sheet.", required=True),
            Key("date", "text", "The date the result was achieved.", required=True),
            Key("outcome", "text", "The code column naming what was achieved.", required=True),
        )), "Claims: results achieved, one row per participant and code.", required=True),
        Key("maximum", "price", "The most paid for one participant, fees and results together."),
        Key("provider_maximum", "price", "The most paid to one provider for all its "
            "participants over the scheme, fees and results together (a formula may read the "
            "register entry, e.g. a contract value).", example="3000000"),
        Key("claim_within_months", "integer", "A claim in a return more than this many calendar "
            "months after the month it was achieved in is not paid."),
        Key("claim_within_days", "integer", "A claim in a return whose month ends more than "
            "this many days after the date achieved is not paid. A rule counted from "
            "the participant's start (by day 700 from attachment) is a result's `refused_when` "
            "instead.", example="90"),
        Key("claim_within_working_days", "integer", "A claim in a return whose month ends more "
            "than this many working days after it was achieved is not paid (Monday to Friday, "
            "not one of the scheme's `holidays`)."),
        Key("claim_after_days", "integer", "A wait before a claim: a claim in a return whose "
            "month ends less than this many days after the date achieved is refused, saying "
            "from when it may be claimed, and counts towards nothing; a later return may "
            "claim it."),
        Key("claim_after_working_days", "integer", "A wait before a claim in working days "
            "(Monday to Friday, not one of the scheme's `holidays`): a claim in a return whose "
            "month ends before the date achieved plus this many working days is refused, "
            "saying from when it may be claimed, and counts towards nothing; a later return "
            "may claim it (e.g. 15 working days after the period claimed).",
            example="15"),
        Key("fees", ListOf(FEE), "Fees on attachment."),
        Key("results", ListOf(RESULT), "Results.", required=True),
    ),
)

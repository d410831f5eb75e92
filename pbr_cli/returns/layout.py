"""What every return made from a pbr template has, whatever the model: the Cover sheet."""

COVER_SHEET = "Cover"
CODES_SHEET = "Codes"
TEMPLATE_LAYOUT = "1"

# Cover fields, as (label in column A, key). Values are in column B.
COVER_FIELDS = (
    ("Scheme", "scheme"),
    ("Model", "model"),
    ("Model version", "model_version"),
    ("Template layout", "layout"),
    ("Provider code", "provider"),
    ("Provider name", "provider_name"),
    ("Month", "month"),
    ("Prepared by", "prepared_by"),
)
REQUIRED_COVER = ("model", "model_version", "layout", "provider", "month")

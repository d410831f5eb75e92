"""Money: exact ratios until a line is rounded, half-up to the penny, formatted as pounds."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

PENNY = Decimal("0.01")


def to_fraction(value: object) -> Fraction:
    """An exact Fraction from an int, Decimal, Fraction or decimal string (never a float)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(value.strip())
    raise TypeError(f"cannot take {type(value).__name__} as an exact number")


def round_pence(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact amount of pounds half-up (away from zero) to the penny."""
    amount = to_fraction(value)
    pence_num = abs(amount.numerator) * 100
    whole, rest = divmod(pence_num, amount.denominator)
    if 2 * rest >= amount.denominator:
        whole += 1
    sign = -1 if amount < 0 else 1
    return (Decimal(sign * whole) / 100).quantize(PENNY)


def format_money(value: Decimal | None) -> str:
    """£1,234.56 and -£299.34: a hyphen-minus, which Excel, finance systems and every
    console read back as negative (a typographic minus sign is not)."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


def fraction_to_decimal(value: Fraction, places: int = 6) -> Decimal:
    """A Fraction shown with `places` decimals, rounded half-up (for display of ratios only)."""
    scale = 10**places
    num = abs(value.numerator) * scale
    whole, rest = divmod(num, value.denominator)
    if 2 * rest >= value.denominator:
        whole += 1
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-places)


def format_percent(value: Fraction | None) -> str:
    """An exact proportion as a percentage: 3/10 -> "30%", 1/9 -> "11.1%" (no floats)."""
    if value is None:
        return "n/a"
    shown = Fraction(value) * 100
    return f"{shown.numerator}%" if shown.denominator == 1 else f"{fraction_to_decimal(shown, 1)}%"

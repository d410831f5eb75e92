"""The exact tests behind the signals, in whole numbers and fractions: the upper tail of a
binomial, Fisher's exact test (one-sided) and the Benjamini-Hochberg step-up rule that
controls the share of false alarms among the signals raised. No floats: a p-value is a
Fraction, compared exactly with its threshold."""

from __future__ import annotations

from fractions import Fraction
from math import comb

HALF = Fraction(1, 2)


def binomial_at_least(k: int, n: int, p: Fraction) -> Fraction:
    """P(X >= k) for X ~ Binomial(n, p), exactly: the sum over i = k..n of
    C(n, i) p^i (1 - p)^(n - i), worked in whole numbers over the denominator b^n."""
    if k <= 0:
        return Fraction(1)
    if k > n:
        return Fraction(0)
    a, b = p.numerator, p.denominator
    if a == 0:
        return Fraction(0)
    if k > n // 2:  # the shorter sum: the upper tail itself
        top = sum(comb(n, i) * a ** i * (b - a) ** (n - i) for i in range(k, n + 1))
        return Fraction(top, b ** n)
    below = sum(comb(n, i) * a ** i * (b - a) ** (n - i) for i in range(0, k))
    return 1 - Fraction(below, b ** n)


def fisher_greater(a: int, b: int, c: int, d: int) -> Fraction:
    """Fisher's exact test, one-sided: the chance, with the margins fixed, that the first
    row's share in the first column is at least a / (a + b), in the table

        a  b    (the provider: cases, others)
        c  d    (the comparison: cases, others)

    the hypergeometric tail P(X >= a) = sum over x of C(a+c, x) C(b+d, a+b-x) / C(N, a+b).

    Summed over the shorter side (the tail itself, or 1 less the terms below a), each term
    worked from the one before: at national scale a table's margins are tens of thousands,
    and working every C() afresh took most of a year's report."""
    row, col, n = a + b, a + c, a + b + c + d
    if row == 0 or col == 0:
        return Fraction(1)
    low, high = max(0, row - (n - col)), min(row, col)  # the values X can take
    if a <= low:
        return Fraction(1)
    if high - a < a - low:
        return Fraction(_terms(col, n - col, row, a, high), comb(n, row))
    return 1 - Fraction(_terms(col, n - col, row, low, a - 1), comb(n, row))


def _terms(k: int, m: int, row: int, first: int, last: int) -> int:
    """The sum of C(k, x) C(m, row - x) for x = first..last. Each term is the one before
    times (k - x)(row - x) / ((x + 1)(m - row + x + 1)), a whole number, so the division is
    exact."""
    term = comb(k, first) * comb(m, row - first)
    total = term
    for x in range(first, last):
        term = term * (k - x) * (row - x) // ((x + 1) * (m - row + x + 1))
        total += term
    return total


def benjamini_hochberg(pvalues: list[Fraction], q: Fraction) -> list[bool]:
    """Which of the p-values are raised at a false discovery rate of `q`: sorted from the
    smallest, the largest k with p_(k) <= k q / m, and every p-value up to it."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    cut = 0
    for rank, i in enumerate(order, start=1):
        if pvalues[i] <= rank * q / m:
            cut = rank
    raised = [False] * m
    for i in order[:cut]:
        raised[i] = True
    return raised


def shown_p(p: Fraction | None) -> str:
    """A p-value as the tables show it: four decimal places, or "< 0.0001" (text only: the
    decision is made on the exact Fraction)."""
    if p is None:
        return ""
    if p < Fraction(1, 10_000):
        return "< 0.0001"
    return f"{float(p):.4f}"

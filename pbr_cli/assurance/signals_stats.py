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

    the hypergeometric tail P(X >= a) = sum over x of C(a+c, x) C(b+d, a+b-x) / C(N, a+b)."""
    row, col, n = a + b, a + c, a + b + c + d
    if row == 0 or col == 0:
        return Fraction(1)
    top = sum(comb(col, x) * comb(n - col, row - x) for x in range(a, min(row, col) + 1))
    return Fraction(top, comb(n, row))


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
    """A p-value as the tables show it: four significant places, or "< 0.0001"."""
    if p is None:
        return ""
    if p < Fraction(1, 10_000):
        return "< 0.0001"
    return f"{float(p):.4f}"

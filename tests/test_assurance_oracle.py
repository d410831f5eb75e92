"""A second, plain implementation of docs/assurance.md's sample size and extrapolation, written
from the page alone, compared with pbr's on random inputs.

The sample size is worked out here in Decimal at 60 digits (not fractions); the lower bound
of the one-sided Clopper–Pearson interval is the beta quantile Beta(α; k, n − k + 1) from
scipy (not a search over the binomial tail), taken to six places rounded down."""

from __future__ import annotations

import math
import random
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest

from pbr_cli.assurance.recovery import extrapolate, lower_bound
from pbr_cli.assurance.sample import sample_size
from pbr_cli.model.assurance import AssuranceSpec

beta = pytest.importorskip("scipy.stats").beta

Z = {90: "1.644854", 95: "1.959964", 99: "2.575829"}  # docs/assurance.md, six places


def oracle_size(N: int, share: Decimal | None, minimum: int, margin: Decimal | None = None,
                confidence: int = 95, p: Decimal | None = None) -> int:
    if N == 0:
        return 0
    with localcontext() as ctx:
        ctx.prec = 60
        if share is not None:
            n = (share * N).to_integral_value(ROUND_CEILING)
        else:
            assert margin is not None and p is not None
            z = Decimal(Z[confidence])
            n0 = z * z * p * (1 - p) / (margin * margin)
            n = (n0 / (1 + (n0 - 1) / N)).to_integral_value(ROUND_CEILING)
    return min(N, max(int(n), minimum))


def oracle_bound(k: int, n: int, confidence: Decimal) -> Decimal | None:
    """None where the beta quantile lies too near a sixth decimal place for a float to say
    which side it is on."""
    if k == 0:
        return Decimal(0)
    q = float(beta.ppf(float(1 - confidence), k, n - k + 1))
    scaled = q * 1_000_000
    if abs(scaled - round(scaled)) < 1e-4:
        return None
    return (Decimal(repr(q))).quantize(Decimal("0.000001"), ROUND_FLOOR)


def test_the_sample_size_agrees_with_a_second_implementation_on_random_inputs():
    rng = random.Random(40)
    for _ in range(3000):
        N = rng.choice([0, 1, 2, 5, 17, 35, 99, 400, 1000, 25_000, rng.randint(0, 5000)])
        minimum = rng.choice([0, 0, 5, 20, 200])
        if rng.random() < 0.5:
            share = Decimal(rng.randint(1, 1000)) / 1000
            spec = AssuranceSpec(share=Fraction(share), minimum=minimum)
            expected = oracle_size(N, share, minimum)
        else:
            margin = Decimal(rng.randint(1, 200)) / 1000
            p = Decimal(rng.randint(1, 999)) / 1000
            conf = rng.choice([90, 95, 99])
            spec = AssuranceSpec(margin=Fraction(margin), confidence=Fraction(conf, 100),
                                 expected_rate=Fraction(p), minimum=minimum)
            expected = oracle_size(N, None, minimum, margin, conf, p)
        assert sample_size(spec, N) == expected, (spec, N)


def test_the_extrapolation_agrees_with_a_second_implementation_on_random_inputs():
    rng = random.Random(41)
    compared = 0
    for _ in range(600):
        n = rng.choice([1, 2, 5, 10, 29, 40, 103, rng.randint(1, 400)])
        k = rng.randint(0, n)
        conf = rng.choice([Decimal("0.9"), Decimal("0.95"), Decimal("0.99")])
        bound = oracle_bound(k, n, conf)
        if bound is None:
            continue
        compared += 1
        assert lower_bound(k, n, Fraction(conf)) == Fraction(bound), (k, n, conf)
        unsampled = Decimal(rng.randint(0, 10_000_000)) / 100
        amount = (bound * unsampled).quantize(Decimal("0.01"), ROUND_HALF_UP)
        got = extrapolate("P3", (n + rng.randint(0, 5000), unsampled), (n, k), Fraction(conf))
        assert got.amount == amount, (k, n, conf, unsampled)
        assert got.amount <= (Decimal(k) / n * unsampled) + Decimal("0.005")  # never above k/n
    assert compared > 500  # the rest lie on a sixth decimal place (1 of 1 at 0.05, say)


def test_the_worked_example_of_the_page():
    # 40 of P3's 400 claims at £50.00, 4 invalid: bound 0.034884; 0.034884 × £18,000.00 =
    # £627.912 → £627.91 (docs/assurance.md)
    assert oracle_bound(4, 40, Decimal("0.95")) == Decimal("0.034884")
    got = extrapolate("P3", (400, Decimal("18000.00")), (40, 4), Fraction(95, 100))
    assert got.rate == Fraction(34884, 1_000_000) and got.amount == Decimal("627.91")
    assert math.isclose(float(got.rate), 0.034884)

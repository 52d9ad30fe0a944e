"""The measuring script reads Prometheus histograms as PromQL's histogram_quantile does."""

from __future__ import annotations

import math

from .throughput import histogram_quantile

_TEXT = """\
# TYPE d histogram
d_bucket{profile="binforge",le="0.1"} 50
d_bucket{profile="binforge",le="0.2"} 90
d_bucket{profile="binforge",le="+Inf"} 100
d_bucket{profile="default-scheduler",le="0.1"} 0
d_bucket{profile="default-scheduler",le="0.2"} 0
d_bucket{profile="default-scheduler",le="+Inf"} 10
"""


def test_quantiles_interpolate_within_the_bucket_holding_the_rank() -> None:
    # Rank 45 is 45 of 50 into (0, 0.1]; rank 70 is 20 of 40 into (0.1, 0.2].
    assert math.isclose(histogram_quantile(_TEXT, "d", 0.45, profile="binforge"), 0.09)
    assert math.isclose(histogram_quantile(_TEXT, "d", 0.7, profile="binforge"), 0.15)


def test_a_rank_in_the_open_bucket_answers_the_highest_finite_bound() -> None:
    assert histogram_quantile(_TEXT, "d", 0.99, profile="binforge") == 0.2
    assert histogram_quantile(_TEXT, "d", 0.5, profile="default-scheduler") == 0.2


def test_series_are_summed_and_no_observation_is_nan() -> None:
    # 50 + 0 observations at or under 0.1 of 110: rank 55 falls in (0.1, 0.2].
    assert math.isclose(histogram_quantile(_TEXT, "d", 0.5), 0.1 + 0.1 * 5 / 40)
    assert math.isnan(histogram_quantile(_TEXT, "missing", 0.5))

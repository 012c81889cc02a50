"""Summaries across replications: means with Student-t 95% confidence intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def mean_or_nan(values: ArrayLike) -> float:
    """The mean of `values` (numbers of any dtype, or a list), NaN when there are none:
    ``values.mean()``, that of float32 and float64 arrays by its own steps (numpy's sum,
    divided by the count in the array's precision) without its overhead."""
    array = np.asarray(values)
    if not array.size:
        return float("nan")
    if array.dtype not in (np.float32, np.float64):  # (float16's mean adds in float32)
        return float(array.mean())
    total = np.add.reduce(array, axis=None)
    return float(total.dtype.type(total / np.intp(array.size)))


def mean_interval(values: np.ndarray | pd.Series, level: float = 0.95) -> dict[str, float]:
    """Mean, standard deviation and t-interval of independent replications.

    NaN values (e.g. a month with no survey answers) are left out. With one value the
    interval is the value itself.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        nan = float("nan")
        return {"mean": nan, "sd": nan, "ci_low": nan, "ci_high": nan, "n": 0}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "sd": 0.0, "ci_low": mean, "ci_high": mean, "n": 1}
    sd = float(x.std(ddof=1))
    half = float(_t_quantile(0.5 + level / 2.0, n - 1)) * sd / np.sqrt(n)
    return {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def summarise(frame: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Mean and interval of every numeric column, optionally within groups.

    Returns one row per (group ×) metric with columns mean, sd, ci_low, ci_high, n.
    """
    rows = []
    groups = [((), frame)] if by is None else frame.groupby(by, sort=False)
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        for column in part.columns:
            if column in keys or not pd.api.types.is_numeric_dtype(part[column]):
                continue
            rows.append(
                dict(zip(keys, key, strict=True)) | {"metric": column} | mean_interval(part[column])
            )
    return pd.DataFrame(rows)


def welch_half_width(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> float:
    """Half-width of the Welch t-interval of mean(a) − mean(b), samples independent."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return 0.0
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(_t_quantile(0.5 + level / 2.0, dof) * np.sqrt(va + vb))


def _t_quantile(probability: float, dof: float) -> float:
    """Student's t quantile (``scipy.stats.t.ppf``), imported when first needed: a model
    run (and a sweep's worker) needs no scipy.stats."""
    from scipy import stats

    return float(stats.t.ppf(probability, dof))

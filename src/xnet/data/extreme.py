"""Catalog values that cannot be what they claim: one rule for what training does with them, and
one count of the values read as missing, said once (log and metrics.json) instead of silently.

- Implausible values: beyond a quantity's physical range (a hardness ratio (H - S) / (H + S) outside
  [-1, 1], a probability outside [0, 1]) or larger in magnitude than `max_abs` (1e10; X-ray fluxes
  are ~1e-12 erg/cm2/s, magnitudes ~20, the largest 4XMM detection likelihood ~1e7). One such row
  (F8 = 1e308) degrades a model without a word, so training applies `data.extreme_values.action`:
  `warn` (keep them, one warning with the rows per column), `error`, `clip` (to the range, or to
  +-max_abs) or `missing` (read as missing, like an empty cell).
- Values read as missing: +-inf anywhere, and zero or negative values of the quantities whose
  logarithm the features take (fluxes, count rates, distances): counted per column, so that a
  catalog whose fluxes are all negative is not trained on as one without fluxes unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from xnet.data.columns import CSC_BANDS, EPIC_BANDS, TOTAL_FLUX, XMM_HARDNESS
from xnet.errors import XnetError

#: quantities with a range set by their definition
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    **{name: (-1.0, 1.0) for name in (*XMM_HARDNESS, "hr_ms", "hr_hm", "hr_hms")},
    **{name: (0.0, 1.0) for name in ("chi2prob", "p_intra", "p_inter")},
}
#: quantities whose features take their logarithm (a value <= 0 has none: read as missing)
LOG_INPUTS = (*EPIC_BANDS, *TOTAL_FLUX, *CSC_BANDS, "rate_total", "fx_fo", "pm", "dist")
ACTIONS = ("warn", "error", "clip", "missing")
DEFAULT_MAX_ABS = 1e10


def _bounds(column: str, max_abs: float) -> tuple[float, float]:
    return PHYSICAL_RANGES.get(column, (-max_abs, max_abs))


def _describe(values: pd.Series, low: float, high: float, mask: np.ndarray) -> str:
    extreme = values[mask]
    worst = extreme.loc[extreme.abs().idxmax()]
    rows = f"{int(mask.sum())} row{'s' if mask.sum() != 1 else ''}"
    return f"{rows} outside [{low:g}, {high:g}] (e.g. {worst:g})"


def apply_extreme_values(
    frame: pd.DataFrame, columns: Mapping[str, str], settings: Mapping | None, path
) -> tuple[pd.DataFrame, list[str]]:
    """The canonical `frame` with `settings` (`data.extreme_values`: action, max_abs) applied to
    its mapped columns (`columns`: canonical -> file column), and the warning to log and record
    (none when no value is implausible). `error` raises one line naming the columns."""
    settings = dict(settings or {})
    action = str(settings.get("action", "warn"))
    max_abs = float(settings.get("max_abs", DEFAULT_MAX_ABS))
    found = []
    for canon, column in columns.items():
        if canon not in frame:
            continue
        values = frame[canon]
        low, high = _bounds(canon, max_abs)
        finite = np.isfinite(values.to_numpy(dtype=float))
        mask = finite & ((values < low) | (values > high)).to_numpy()
        if not mask.any():
            continue
        found.append(f"{column} ({canon}): {_describe(values, low, high, mask)}")
        if action in ("clip", "missing"):
            frame = frame.copy() if not found[1:] else frame  # the caller's frame stays as read
            frame[canon] = values.clip(low, high) if action == "clip" else values.where(~mask)
    if not found:
        return frame, []
    listed = "; ".join(found)
    if action == "error":
        raise XnetError(
            f"{path}: implausible values: {listed}; fix them, or set data.extreme_values.action "
            f"to missing, clip or warn"
        )
    done = {"warn": "kept", "clip": "clipped to the range", "missing": "read as missing"}[action]
    return frame, [
        f"{path}: implausible values {done} (data.extreme_values.action={action}): {listed}"
        + ("; set data.extreme_values.action=missing, clip or error" if action == "warn" else "")
    ]


def unread_counts(frame: pd.DataFrame, columns: Mapping[str, str]) -> dict[tuple[str, str], int]:
    """{(file column (canonical), reason): rows} of values present in the file but read as missing:
    +-inf anywhere, and values <= 0 of `LOG_INPUTS`. Counts add up over chunks."""
    names = [c for c in columns if c in frame]
    if not names:
        return {}
    values = np.stack([frame[c].to_numpy(dtype=float) for c in names])  # a row per column
    infinite = np.isinf(values)
    logs = np.array([c in LOG_INPUTS for c in names])
    with np.errstate(invalid="ignore"):
        low = (values[logs] <= 0) & ~infinite[logs]
    counts = {}
    for j, n in enumerate(np.count_nonzero(infinite, axis=1)):
        if n:
            counts[(f"{columns[names[j]]} ({names[j]})", "infinite")] = int(n)
    for j, n in zip(np.flatnonzero(logs), np.count_nonzero(low, axis=1)):
        if n:
            counts[(f"{columns[names[j]]} ({names[j]})", "zero or negative (no logarithm)")] = int(
                n
            )
    return counts


def unread_message(counts: Mapping[tuple[str, str], int], path) -> list[str]:
    """One line for `unread_counts` (none when nothing was read as missing)."""
    if not counts:
        return []
    listed = "; ".join(f"{name}: {n:,} {reason}" for (name, reason), n in counts.items())
    return [f"{path}: values read as missing: {listed}"]

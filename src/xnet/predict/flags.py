"""Why a prediction should not be trusted: per-row flags for `xnet.predict`.

A row's flag is empty when nothing is wrong, else `;`-separated reasons, in this order:
- `no_features`: every model feature is missing; the row gets no prediction.
- `missing:<f,...>`: features missing that were (almost) never missing on the training rows, so
  the model only ever saw them as the training median.
- `out_of_range:<f,...>`: values beyond the training rows' [min, max] by more than `range_margin`
  of that width.
- `poor_quality`: the catalog's quality summary (4XMM SUM_FLAG) is above `max_sum_flag`.
- `extended`: the source is extended (EXTENT above `max_extent`); the training classes hold no
  galaxy clusters, so an extended source's class is a guess.
- `not_classified`: the model's probabilities are not finite numbers (a value such as HR1 = 1e30
  overflows the scaler); the row gets no class (never the argmax of NaN).
Flagged rows keep their probabilities, except `no_features` and `not_classified` rows. Flags
are codes into a vocabulary that grows across chunks
(dictionary-encoded in the output), so a million rows cost one string per distinct reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

NO_FEATURES = "no_features"
NOT_CLASSIFIED = "not_classified"


@dataclass
class TrainingStats:
    """Per-feature missing share and range on the training rows (over all members of an
    ensemble)."""

    missing_fraction: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def from_states(
        cls, states: Sequence[Mapping], features: Sequence[str]
    ) -> TrainingStats | None:
        """From checkpoints' `XrayDataModule` states; None when they predate these statistics."""
        if not all("train_missing_fraction" in s for s in states):
            return None
        rows = [[list(s["feature_names"]).index(f) for f in features] for s in states]

        def pick(key: str) -> np.ndarray:
            return np.array([np.asarray(s[key], float)[r] for s, r in zip(states, rows)])

        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", RuntimeWarning
            )  # a feature missing on every training row
            return cls(
                pick("train_missing_fraction").mean(0),
                np.nanmin(pick("train_min"), 0),
                np.nanmax(pick("train_max"), 0),
            )


@dataclass(frozen=True)
class FlagRules:
    """Thresholds (conf/predict.yaml `flags`); None switches a rule off."""

    missing_below: float | None = 0.01
    range_margin: float | None = 0.1
    max_sum_flag: float | None = 1.0
    max_extent: float | None = 0.0

    @classmethod
    def from_config(cls, cfg: Mapping) -> FlagRules:
        value = lambda key: None if cfg.get(key) is None else float(cfg[key])  # noqa: E731
        return cls(
            value("missing_below"),
            value("range_margin"),
            value("max_sum_flag"),
            value("max_extent"),
        )


class RowFlags:
    """Turns a chunk's raw features and quality columns into flag codes (0: no flag)."""

    def __init__(self, features: Sequence[str], stats: TrainingStats | None, rules: FlagRules):
        self.features = list(features)
        self.rules = rules
        self.vocabulary: list[str] = [""]
        self._index = {"": 0}
        n = len(self.features)
        never = np.zeros(n, bool)
        self.check_missing = (
            never
            if stats is None or rules.missing_below is None
            else stats.missing_fraction < rules.missing_below
        )
        if stats is None or rules.range_margin is None:
            self.low, self.high = np.full(n, -np.inf), np.full(n, np.inf)
        else:
            width = np.nan_to_num(stats.high - stats.low)
            self.low = np.nan_to_num(stats.low - rules.range_margin * width, nan=-np.inf)
            self.high = np.nan_to_num(stats.high + rules.range_margin * width, nan=np.inf)

    def __call__(
        self, x: np.ndarray, sum_flag: np.ndarray | None = None, extent: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(flag codes into `vocabulary`, usable rows) for raw features `x` (rows x features)."""
        n = len(x)
        missing = np.isnan(x)
        usable = ~missing.all(axis=1)
        with np.errstate(invalid="ignore"):
            outside = (x < self.low) | (x > self.high)
            quality = (
                sum_flag > self.rules.max_sum_flag
                if sum_flag is not None and self.rules.max_sum_flag is not None
                else np.zeros(n, bool)
            )
            extended = (
                extent > self.rules.max_extent
                if extent is not None and self.rules.max_extent is not None
                else np.zeros(n, bool)
            )
        bits = np.column_stack(
            [~usable, missing & self.check_missing & usable[:, None], outside, quality, extended]
        )
        flagged = bits.any(axis=1)
        codes = np.zeros(n, np.int32)
        if flagged.any():
            keys, first = np.unique(_row_keys(bits[flagged]), return_inverse=True)
            rows_of = np.flatnonzero(flagged)
            # one example row per distinct combination describes it
            example = np.zeros(len(keys), np.int64)
            example[first] = np.arange(len(first))
            names = [self._code(self._describe(bits[rows_of[i]])) for i in example]
            codes[flagged] = np.asarray(names, np.int32)[first]
        return codes, usable

    def with_reason(self, codes: np.ndarray, rows: np.ndarray, reason: str) -> np.ndarray:
        """`codes` with `reason` added to the flags of `rows` (a boolean mask)."""
        out = codes.copy()
        for code in np.unique(codes[rows]):
            text = self.vocabulary[code]
            out[rows & (codes == code)] = self._code(f"{text};{reason}" if text else reason)
        return out

    def _describe(self, row: np.ndarray) -> str:
        n = len(self.features)
        missing, outside = row[1 : 1 + n], row[1 + n : 1 + 2 * n]
        reasons = [NO_FEATURES] if row[0] else []
        if missing.any():
            reasons.append("missing:" + ",".join(f for f, m in zip(self.features, missing) if m))
        if outside.any():
            reasons.append(
                "out_of_range:" + ",".join(f for f, o in zip(self.features, outside) if o)
            )
        if row[-2]:
            reasons.append("poor_quality")
        if row[-1]:
            reasons.append("extended")
        return ";".join(reasons)

    def _code(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.vocabulary)
            self.vocabulary.append(text)
        return self._index[text]


def _row_keys(bits: np.ndarray) -> np.ndarray:
    """One sortable key per row of a boolean matrix (an integer while it fits in 64 bits)."""
    packed = np.packbits(bits, axis=1)
    width = -(-packed.shape[1] // 8) * 8
    packed = np.pad(packed, ((0, 0), (0, width - packed.shape[1])))
    if width == 8:
        return packed.view(np.uint64).ravel()
    return np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()

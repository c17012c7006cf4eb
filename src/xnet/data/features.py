"""Feature engineering: pure functions from a canonical catalog frame to model inputs.

A feature set (`conf/features/*.yaml`) lists feature names. A name is either a canonical catalog
column used as it is (`hr1`, `chi2prob`, `gaia_g`, ...; `xnet.data.columns`) or a derived feature
(`xnet.data.derived`). Where a catalog maps a derived name directly (Lin et al. ship `bp_rp`), its
column is used as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xnet.data.columns import CANONICAL_COLUMNS
from xnet.data.derived import DERIVED
from xnet.errors import XnetError

log = logging.getLogger(__name__)

MISSING_SUFFIX = "_missing"


@dataclass
class FeatureSpec:
    """The resolved feature set for one catalog: input columns in model order."""

    name: str
    features: list[str]
    indicators: list[str]
    skipped: list[str] = field(default_factory=list)
    drop_missing: bool = False

    @property
    def columns(self) -> list[str]:
        return self.features + [f + MISSING_SUFFIX for f in self.indicators]


def resolve_features(features_cfg: Mapping, available: Sequence[str]) -> FeatureSpec:
    """Which of the feature set's names this catalog can provide; unknown names are an error."""
    name = str(features_cfg.get("name", "features"))
    wanted = [str(f) for f in features_cfg.get("features") or []]
    if not wanted:
        raise XnetError(f"feature set '{name}' lists no features")
    available_set = set(available)
    known = CANONICAL_COLUMNS | set(DERIVED) | available_set
    unknown = [f for f in wanted if f not in known]
    indicators_wanted = [str(f) for f in features_cfg.get("missing_indicators") or []]
    unknown += [f for f in indicators_wanted if f not in wanted]
    if unknown:
        raise XnetError(
            f"feature set '{name}': unknown feature {', '.join(map(repr, unknown))} "
            f"(missing indicators must name listed features); known derived features: "
            f"{', '.join(sorted(DERIVED))}"
        )
    usable = [
        f
        for f in wanted
        if f in available_set or (f in DERIVED and DERIVED[f].way_for(available_set))
    ]
    skipped = [f for f in wanted if f not in usable]
    if not usable:
        raise XnetError(f"feature set '{name}': the catalog provides none of its features {wanted}")
    drop_missing = bool(features_cfg.get("drop_missing", False))
    indicators = [] if drop_missing else [f for f in indicators_wanted if f in usable]
    return FeatureSpec(
        name=name,
        features=usable,
        indicators=indicators,
        skipped=skipped,
        drop_missing=drop_missing,
    )


def compute_feature(frame: pd.DataFrame, name: str) -> pd.Series:
    """One feature column: the catalog's own column if it maps `name`, else its derivation."""
    if name in frame.columns:
        return frame[name].astype(float)
    way = DERIVED[name].way_for(set(frame.columns))
    return way(frame).astype(float)


def build_features(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Model inputs in `spec.columns` order; missing values stay NaN (imputed later, on training
    rows)."""
    values = {name: compute_feature(frame, name) for name in spec.features}
    out = pd.DataFrame(values, index=frame.index)
    out = out.replace([np.inf, -np.inf], np.nan)
    for name in spec.indicators:
        out[name + MISSING_SUFFIX] = out[name].isna().astype(float)
    return out[spec.columns]

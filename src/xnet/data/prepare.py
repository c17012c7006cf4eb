"""A run's data, prepared: the labelled set and splits of a config (`job_data`) and, for each
network's split, the scaler fitted on its training rows with the resampled, scaled training set
(`fit_split`). The keys say when two jobs or two networks can share the work."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from xnet.errors import XnetError


def config_key(*nodes) -> str:
    """One string for config nodes and plain values: equal settings, equal key."""
    return json.dumps(
        [
            OmegaConf.to_container(n, resolve=True) if isinstance(n, DictConfig) else n
            for n in nodes
        ],
        sort_keys=True,
        default=str,
    )


def data_key(cfg: DictConfig) -> str:
    """Jobs whose data settings agree share one labelled set and splits (`prepare_job`'s cache)."""
    return config_key(cfg.data, cfg.features, cfg.split, cfg.cv, cfg.seed)


def job_data(cfg: DictConfig):
    """The labelled set and splits of a run (`prepare_job`'s work)."""
    from xnet.data.labelled import prepare_labelled_set
    from xnet.data.shifted import splits_for

    data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
    folds = int(cfg.cv.folds or 0)
    if folds == 1 or folds < 0:
        raise XnetError(f"cv.folds={folds}: use 0 for one train/test split or K >= 2 for K-fold CV")
    return data, splits_for(data, cfg.cv, cfg.split, int(cfg.seed))  # cv.scheme: xnet.data.shifted


def split_key(split, resample: Mapping, seed: int) -> tuple:
    """What a training set depends on besides the labelled set: its rows, resampling and seed."""
    rows = hashlib.sha1(np.ascontiguousarray(split.train).tobytes()).hexdigest()
    plain = {
        k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
        for k, v in dict(resample).items()
    }
    return rows, json.dumps(plain, sort_keys=True, default=str), int(seed)


def fit_split(
    data, split, resample: Mapping, seed: int, with_parents: bool = False
) -> tuple[Any, ...]:
    """The scaler fitted on the split's training rows and the resampled, scaled training set
    (`XrayDataModule.setup` before its tensors); with `with_parents`, also each training row's
    source row in the labelled set (whose extra inputs, such as a light curve, it carries)."""
    from xnet.data.noise import error_resampled
    from xnet.data.preprocessing import fit_scaler, resample_training_set, transform

    scaler = fit_scaler(data.x[split.train], data.feature_names)
    # xnet.data.noise: error and reddened-AGN copies (none by default)
    x_fit, y_fit, parents = error_resampled(data, split.train, resample, seed, with_parents=True)
    out = resample_training_set(
        transform(scaler, x_fit), y_fit, data.classes, resample, seed, parents=parents
    )
    return (scaler, *out) if with_parents else (scaler, *out[:2])

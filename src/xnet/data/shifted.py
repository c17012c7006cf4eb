"""Shifted splits: does a configuration tuned on one catalog's random folds hold on new sources?

The next catalog release's sources are fainter and elsewhere on the sky. Two splits imitate that
(`cv.scheme`):
- `faint`: train on the brighter sources, test on the faintest `cv.faint_fraction` (by the
  broad-band flux, `log_flux`; sources without a flux stay in training);
- `sky`: leave-sky-region-out K-fold CV: galactic (l, b) cells of `cv.sky_cell_deg` degrees are
  kept whole (a star-forming region or a globular cluster is tested only by models that never saw
  it), assigned to folds by `StratifiedGroupKFold` to keep class shares as even as the cells allow.
`stratified` (the default) is `xnet.dataset.make_splits`. The training part of every split keeps
a stratified validation share for early stopping, as there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split

from xnet.data.catalog import DEC, RA
from xnet.data.features import compute_feature
from xnet.data.labelled import LabelledSet
from xnet.data.splits import Split, make_splits
from xnet.errors import XnetError

SCHEMES = ("stratified", "faint", "sky")


def _train_val(
    train: np.ndarray, y: np.ndarray, val_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(y[train])
    stratify = y[train] if counts[counts > 0].min() >= 2 else None
    tr, va = train_test_split(train, test_size=val_size, stratify=stratify, random_state=seed)
    return np.sort(tr), np.sort(va)


def faint_split(data: LabelledSet, fraction: float, val_size: float, seed: int) -> Split:
    """Test on the faintest `fraction` of the sources with a broad-band flux; train on the rest."""
    flux = compute_feature(data.frame, "log_flux").to_numpy(dtype=float)
    known = np.flatnonzero(np.isfinite(flux))
    n_test = int(round(fraction * len(known)))
    test = np.sort(known[np.argsort(flux[known], kind="stable")[:n_test]])
    train = np.setdiff1d(np.arange(len(data.y)), test)
    tr, va = _train_val(train, data.y, val_size, seed)
    return Split(fold=0, train=tr, val=va, test=test)


def sky_cells(ra: np.ndarray, dec: np.ndarray, cell_deg: float) -> np.ndarray:
    """An integer cell per source on a galactic (l, b) grid of `cell_deg` degrees."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    galactic = SkyCoord(ra=ra * u.deg, dec=dec * u.deg, frame="icrs").galactic
    l_cell = np.floor(galactic.l.deg / cell_deg).astype(int)
    b_cell = np.floor((galactic.b.deg + 90) / cell_deg).astype(int)
    return l_cell * 1000 + b_cell


def sky_folds(
    data: LabelledSet, folds: int, cell_deg: float, val_size: float, seed: int
) -> list[Split]:
    """Leave-sky-region-out K folds (cells kept whole, class shares balanced where possible)."""
    if RA not in data.frame or DEC not in data.frame:
        raise XnetError("cv.scheme=sky needs sky positions: map 'ra' and 'dec' in the data config")
    groups = sky_cells(
        data.frame[RA].to_numpy(dtype=float), data.frame[DEC].to_numpy(dtype=float), cell_deg
    )
    kfold = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = []
    for k, (train, test) in enumerate(kfold.split(np.zeros(len(data.y)), data.y, groups)):
        tr, va = _train_val(train, data.y, val_size, seed)
        out.append(Split(fold=k, train=tr, val=va, test=np.sort(test)))
    return out


def splits_for(data: LabelledSet, cv_cfg: Mapping, split_cfg: Mapping, seed: int) -> list[Split]:
    """The outer splits `cv.scheme` asks for (`stratified`: `make_splits`, unchanged)."""
    scheme = str(cv_cfg["scheme"])
    folds = int(cv_cfg.get("folds") or 0)
    val_size = float(split_cfg["val_size"])
    if scheme == "stratified":
        return list(
            make_splits(data.y, split_cfg, folds, seed, groups=data.groups, classes=data.classes)
        )
    if scheme == "faint":
        return [faint_split(data, float(cv_cfg["faint_fraction"]), val_size, seed)]
    if scheme == "sky":
        return sky_folds(
            data,
            folds if folds >= 2 else 5,
            float(cv_cfg["sky_cell_deg"]),
            val_size,
            seed,
        )
    raise XnetError(f"cv.scheme={scheme!r} is not one of {', '.join(SCHEMES)}")

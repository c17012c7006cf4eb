"""The study's figures of the data, written as PNG files (and the missing-value CSV) into a folder
and, given a TensorBoard writer, as figures under `figures/`: class shares, sky positions
(galactic, Mollweide), hardness-ratio planes per class, feature histograms before and after
scaling, missing values per class and feature. They depend on the data, the features and a
split's training rows only, so `xnet.plotting.figure_cache` draws them once per content."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xnet.data.catalog import DEC, LABEL, RA
from xnet.data.features import DERIVED, compute_feature
from xnet.data.labelled import LabelledSet
from xnet.data.preprocessing import fit_scaler, transform
from xnet.data.splits import Split
from xnet.plotting.draw import (
    class_shares_figure,
    feature_histograms_figure,
    hardness_figure,
    missing_values_figure,
    sky_figure,
)
from xnet.plotting.figure_writer import FigureWriter

#: hardness-ratio planes, drawn where the catalog provides both: XMM's HR1-HR4 (the study's), then
#: Chandra's soft/medium/hard ratios
HARDNESS_PAIRS = (("hr1", "hr2"), ("hr3", "hr4"), ("hr_ms", "hr_hm"), ("hr_hm", "hr_hms"))


def available(frame: pd.DataFrame, name: str) -> bool:
    if name in frame.columns:
        return True
    return name in DERIVED and DERIVED[name].way_for(set(frame.columns)) is not None


def galactic(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICRS (J2000) degrees to galactic l, b in degrees, via astropy."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    coords = SkyCoord(
        ra=np.asarray(ra_deg, float) * u.deg, dec=np.asarray(dec_deg, float) * u.deg, frame="icrs"
    ).galactic
    return coords.l.deg, coords.b.deg


def missing_values_table(data: LabelledSet) -> pd.DataFrame:
    """Missing counts per class (rows, plus `all`) and feature (columns), with each class's size
    in `n`.

    Missing-value indicators are inputs, never missing themselves, so only features are listed."""
    features = list(data.spec.features)
    values = pd.DataFrame(data.x[:, : len(features)], columns=features)
    labels = np.asarray(data.classes, dtype=object)[data.y]
    missing = values.isna().groupby(labels).sum().reindex(data.classes)
    missing.loc["all"] = values.isna().sum()
    missing.insert(
        0,
        "n",
        pd.Series({**{c: int((labels == c).sum()) for c in data.classes}, "all": len(labels)}),
    )
    missing.index.name = "class"
    return missing.astype(int)


def write_data_figures(
    out_dir: str | Path, data: LabelledSet, split: Split, tb_writer=None
) -> dict[str, str]:
    """The study's figures of the data and the missing-value CSV; {figure name: file name}.

    `split` is the split whose training rows show the scaling (the first fold under CV): the
    scaler is refitted on exactly those rows with `fit_scaler`, as the DataModule does."""
    out_dir = Path(out_dir)
    save = FigureWriter(out_dir, tb_writer)
    labels = np.asarray(data.classes, dtype=object)[data.y]
    name = data.catalog.name
    counts = {
        c: int(n) for c, n in zip(data.classes, np.bincount(data.y, minlength=len(data.classes)))
    }
    save(
        "class_shares",
        class_shares_figure(counts, title=f"{name}: class shares ({len(data.y)} sources)"),
    )
    sky(save, data, labels)
    hardness_planes(save, data, labels)
    feature_histograms(save, data, split)
    missing_values(save, data, out_dir)
    return save.written


def sky(save: FigureWriter, data: LabelledSet, labels: np.ndarray) -> None:
    """Sky positions in galactic coordinates, where the catalog has them."""
    frame = data.frame
    if RA not in frame.columns or DEC not in frame.columns:
        return
    ok = frame[RA].notna().to_numpy() & frame[DEC].notna().to_numpy()
    if ok.any():
        l_deg, b_deg = galactic(frame[RA].to_numpy()[ok], frame[DEC].to_numpy()[ok])
        save(
            "sky_galactic",
            sky_figure(
                l_deg,
                b_deg,
                labels[ok],
                data.classes,
                title=f"{data.catalog.name}: sky positions (galactic)",
            ),
        )


def hardness_planes(save: FigureWriter, data: LabelledSet, labels: np.ndarray) -> None:
    """One hardness-ratio plane per pair of `HARDNESS_PAIRS` the catalog provides."""
    source = data.frame.drop(columns=[LABEL], errors="ignore")
    for x_name, y_name in HARDNESS_PAIRS:
        if available(source, x_name) and available(source, y_name):
            x = compute_feature(source, x_name).to_numpy()
            y = compute_feature(source, y_name).to_numpy()
            fig = hardness_figure(
                x,
                y,
                labels,
                data.classes,
                x_name,
                y_name,
                title=f"{data.catalog.name}: {y_name} against {x_name}",
            )
            save(f"hardness_{x_name}_{y_name}", fig, tight=False)  # laid out by the figure itself


def feature_histograms(save: FigureWriter, data: LabelledSet, split: Split) -> None:
    """The split's training features before and after scaling (laid out by the figures)."""
    name = data.catalog.name
    x_train = data.x[split.train]
    scaled = transform(fit_scaler(x_train), x_train)
    n_features = len(data.spec.features)
    names = data.feature_names[:n_features]
    save(
        "features_raw",
        feature_histograms_figure(
            x_train[:, :n_features], names, title=f"{name}: training features before scaling"
        ),
        tight=False,
    )  # laid out by the figure itself
    save(
        "features_scaled",
        feature_histograms_figure(
            scaled[:, :n_features],
            names,
            title=f"{name}: after imputation, Yeo-Johnson and min-max scaling (training rows)",
        ),
        tight=False,
    )


def missing_values(save: FigureWriter, data: LabelledSet, out_dir: Path) -> None:
    """The missing share per class and feature, and its counts as `missing_values.csv`."""
    table = missing_values_table(data)
    table.to_csv(out_dir / "missing_values.csv")
    save(
        "missing_values",
        missing_values_figure(
            table.drop(columns="n").div(table["n"].clip(lower=1), axis=0),
            title=f"{data.catalog.name}: missing share per class and feature",
        ),
    )
    save.written["missing_values_csv"] = "missing_values.csv"

"""The founding study's figures for one run, written as PNG files into the run directory and,
given a TensorBoard writer, as figures under `figures/`.

Class shares, sky positions (galactic, Mollweide), hardness-ratio planes per class, feature
histograms before and after scaling, missing values per class and feature (CSV too) and the
confusion matrix in counts and row-normalised. Calibration figures are `xnet.evaluation.calibration`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
    confusion_matrix_figure,
    feature_histograms_figure,
    hardness_figure,
    missing_values_figure,
    sky_figure,
)
from xnet.plotting.png import Renderer, add_png, save_png

log = logging.getLogger(__name__)

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
    """Missing counts per class (rows, plus `all`) and feature (columns), with each class's size in `n`.

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


class FigureWriter:
    """Saves each figure as `<name>.png` in `out_dir` and, with a writer, to TensorBoard; with a
    `renderer` (`xnet.plotting.png.Renderer`) the PNG is written when the renderer finishes."""

    def __init__(
        self,
        out_dir: Path,
        tb_writer=None,
        tb_prefix: str = "figures",
        dpi: int = 110,
        renderer=None,
    ):
        self.out_dir, self.tb_writer, self.tb_prefix, self.dpi = (
            Path(out_dir),
            tb_writer,
            tb_prefix,
            dpi,
        )
        self.renderer = renderer
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.written: dict[str, str] = {}

    def __call__(self, name: str, fig, tight: bool = True) -> None:
        path = self.out_dir / f"{name}.png"
        tag = f"{self.tb_prefix}/{name}"
        to_board = (
            (lambda png: add_png(self.tb_writer, tag, png)) if self.tb_writer is not None else None
        )
        if self.renderer is not None:
            self.renderer.submit(fig, path, to_board, self.dpi, tight)
        else:
            png = save_png(
                fig, path, self.dpi, tight
            )  # drawn once: the file and TensorBoard get the same bytes
            if to_board is not None:
                to_board(png)
        self.written[name] = path.name


def write_data_figures(
    out_dir: str | Path, data: LabelledSet, split: Split, tb_writer=None
) -> dict[str, str]:
    """The study's figures of the data (class shares, sky, hardness planes, feature histograms
    before and after scaling, missing values and their CSV): they depend on the data, features and
    the split's training rows only, so `xnet.plotting.figure_cache` draws them once per content.

    `split` is the split whose training rows show the scaling (the first fold under CV): the
    scaler is refitted on exactly those rows with `fit_scaler`, as the DataModule does."""
    out_dir = Path(out_dir)
    save = FigureWriter(out_dir, tb_writer)
    labels = np.asarray(data.classes, dtype=object)[data.y]
    frame = data.frame
    name = data.catalog.name

    counts = {
        c: int(n) for c, n in zip(data.classes, np.bincount(data.y, minlength=len(data.classes)))
    }
    save(
        "class_shares",
        class_shares_figure(counts, title=f"{name}: class shares ({len(data.y)} sources)"),
    )

    if RA in frame.columns and DEC in frame.columns:
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
                    title=f"{name}: sky positions (galactic)",
                ),
            )

    source = frame.drop(columns=[LABEL], errors="ignore")
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
                title=f"{name}: {y_name} against {x_name}",
            )
            save(f"hardness_{x_name}_{y_name}", fig, tight=False)  # laid out by the figure itself

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

    table = missing_values_table(data)
    table.to_csv(out_dir / "missing_values.csv")
    save(
        "missing_values",
        missing_values_figure(
            table.drop(columns="n").div(table["n"].clip(lower=1), axis=0),
            title=f"{name}: missing share per class and feature",
        ),
    )
    save.written["missing_values_csv"] = "missing_values.csv"

    return save.written


def write_run_figures(
    run_dir: str | Path,
    data: LabelledSet,
    split: Split,
    confusion_matrix: Sequence[Sequence[int]] | np.ndarray | None = None,
    tb_writer=None,
    confusion_title: str = "test",
    cache: bool = True,
    renderer: Renderer | None = None,
    board_data_figures: bool = True,
) -> dict[str, str]:
    """Every study figure for a run; returns {figure name: file name in run_dir}.

    The data figures (`write_data_figures`) come from the figure cache in the data home (drawn
    there once per data content, copied into the run) unless `cache` is false. `confusion_matrix`
    (rows true, columns predicted, `data.classes` order) is the run's test matrix (pooled
    out-of-fold under CV); None skips the two confusion figures. The confusion figures render on
    idle cores (`renderer`; without one, a renderer finished before returning)."""
    from xnet.plotting.figure_cache import cached_data_figures

    run_dir = Path(run_dir)
    own = renderer is None
    save = FigureWriter(run_dir, tb_writer, renderer=Renderer() if own else renderer)
    if confusion_matrix is not None:
        cm = np.asarray(confusion_matrix)
        save(
            "confusion_counts",
            confusion_matrix_figure(
                cm, data.classes, title=f"{confusion_title} confusion matrix (counts)"
            ),
            tight=False,
        )  # fixed margins
        save(
            "confusion_normalized",
            confusion_matrix_figure(
                cm,
                data.classes,
                title=f"{confusion_title} confusion matrix (row-normalised)",
                normalize=True,
            ),
            tight=False,
        )
    data_writer = tb_writer if board_data_figures else None  # a sweep shows them once
    if cache:
        save.written.update(cached_data_figures(run_dir, data, split, data_writer))
    else:
        save.written.update(write_data_figures(run_dir, data, split, data_writer))
    if own:
        save.renderer.finish()
    log.info("figures written to %s: %s", run_dir, ", ".join(sorted(save.written)))
    return save.written

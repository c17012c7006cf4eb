"""4XMM-DR13-schema tables with values drawn from the bundled XMM slice (for tests and benchmarks).

The real catalogs (`4XMM_DR13cat_slim_v1.0.fits`, `4XMM_DR13cat_v1.0.fits`) are hundreds of MB and
not shipped. These tables carry their column names and FITS types; each row is a source of the
bundled Lin et al. slice drawn at random (fluxes jittered by 0.05 dex, hardness ratios by 0.02),
at a random sky position. FITS files are written in chunks, so a million-row file needs little
memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xnet.config.compose import BUNDLED_DATA_DIR

LIN_CSV = BUNDLED_DATA_DIR / "lin2024_4xmm_dr13_sample.csv"
#: counts/s per erg/cm2/s, a typical EPIC pn 0.2-12 keV conversion, to make count rates from fluxes
RATE_PER_FLUX = 1.0e11

# (column, FITS format) in the order of the official slim catalog's source-level columns
SLIM_COLUMNS = (
    [
        ("SRCID", "K"),
        ("IAUNAME", "21A"),
        ("SC_RA", "D"),
        ("SC_DEC", "D"),
        ("SC_POSERR", "E"),
        ("SC_DET_ML", "E"),
    ]
    + [(f"SC_EP_{b}_FLUX{e}", "E") for b in (1, 2, 3, 4, 5, 8, 9) for e in ("", "_ERR")]
    + [(f"SC_HR{i}{e}", "E") for i in (1, 2, 3, 4) for e in ("", "_ERR")]
    + [
        ("SC_EXTENT", "E"),
        ("SC_EXT_ML", "E"),
        ("SC_CHI2PROB", "D"),
        ("SC_FVAR", "E"),
        ("SC_FVARERR", "E"),
    ]
    + [("SC_VAR_FLAG", "L"), ("SC_SUM_FLAG", "B"), ("SC_EP_8_FMIN", "E"), ("SC_EP_8_FMIN_ERR", "E")]
    + [("SC_EP_8_FMAX", "E"), ("SC_EP_8_FMAX_ERR", "E"), ("N_DETECTIONS", "I")]
)
# detection-level columns of the full catalog that the study used, before the source-level ones
FULL_DETECTION_COLUMNS = (
    [
        ("DETID", "K"),
        ("SRCID", "K"),
        ("IAUNAME", "21A"),
        ("OBS_ID", "10A"),
        ("RA", "D"),
        ("DEC", "D"),
        ("POSERR", "E"),
    ]
    + [(f"EP_{b}_FLUX{e}", "E") for b in (1, 2, 3, 4, 5, 8, 9) for e in ("", "_ERR")]
    + [("EP_8_RATE", "E"), ("EP_8_RATE_ERR", "E"), ("EP_8_DET_ML", "E")]
    + [(f"EP_HR{i}{e}", "E") for i in (1, 2, 3, 4) for e in ("", "_ERR")]
    + [("EP_EXTENT", "E"), ("EP_EXTENT_ERR", "E"), ("EP_EXTENT_ML", "E"), ("EP_CHI2PROB", "D")]
    + [("PN_FVAR", "E"), ("PN_FVARERR", "E"), ("VAR_FLAG", "L"), ("SUM_FLAG", "B")]
)
# per-camera band columns that make the full catalog wide (read by nobody here)
FULL_CAMERA_COLUMNS = [
    (f"{cam}_{b}_{q}", "E")
    for cam in ("PN", "M1", "M2")
    for b in (1, 2, 3, 4, 5, 8, 9)
    for q in (
        "FLUX",
        "FLUX_ERR",
        "RATE",
        "RATE_ERR",
        "CTS",
        "CTS_ERR",
        "EXP",
        "BG",
        "DET_ML",
        "VIG",
    )
]


def lin_slice() -> pd.DataFrame:
    """The bundled slice's non-empty rows, numeric columns as float."""
    frame = (
        pd.read_csv(LIN_CSV, na_values=["NaN"], low_memory=False)
        .dropna(how="all")
        .reset_index(drop=True)
    )
    frame["sc_var_flag"] = (
        frame["sc_var_flag"].map({"t": True, "f": False}).fillna(False).astype(bool)
    )
    return frame


def _jitter(values: np.ndarray, rng: np.random.Generator, dex: float) -> np.ndarray:
    return values * 10 ** rng.normal(0.0, dex, len(values))


def _source_values(n: int, seed: int, start: int = 0) -> dict[str, np.ndarray]:
    """Source-level values (slim names) for `n` rows drawn from the slice; `start` numbers the
    ids."""
    rng = np.random.default_rng(seed)
    lin = lin_slice()
    rows = lin.iloc[rng.integers(0, len(lin), n)]
    col = lambda name: rows[name].to_numpy(dtype=float)  # noqa: E731
    scale = 10 ** rng.normal(0.0, 0.05, n)  # one flux jitter per source keeps the bands consistent
    fmin, fmax = col("sc_ep_8_fmin") * scale, col("sc_ep_8_fmax") * scale
    total = col("F8") * scale
    total = np.where(np.isnan(total), np.sqrt(fmin * fmax), total)  # the real catalog always has it
    out: dict[str, np.ndarray] = {
        "SRCID": 201_000_000_000_000 + start + np.arange(n, dtype=np.int64),
        "IAUNAME": rows["name"].to_numpy(dtype=object).astype("S21"),
        "SC_RA": rng.uniform(0.0, 360.0, n),
        "SC_DEC": np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))),
        "SC_POSERR": col("poserr"),
        "SC_DET_ML": col("sc_det_ml"),
    }
    for b in (1, 2, 3, 4, 5):
        out[f"SC_EP_{b}_FLUX"] = col(f"F{b}") * scale
    out["SC_EP_8_FLUX"] = total
    out["SC_EP_9_FLUX"] = np.nansum(
        [out["SC_EP_2_FLUX"], out["SC_EP_3_FLUX"], out["SC_EP_4_FLUX"]], axis=0
    )
    for b in (1, 2, 3, 4, 5, 8, 9):
        out[f"SC_EP_{b}_FLUX_ERR"] = 0.1 * out[f"SC_EP_{b}_FLUX"]
    for i in (1, 2, 3, 4):
        out[f"SC_HR{i}"] = np.clip(col(f"HR{i}") + rng.normal(0.0, 0.02, n), -1.0, 1.0)
        out[f"SC_HR{i}_ERR"] = np.full(n, 0.05)
    out["SC_EXTENT"], out["SC_EXT_ML"] = col("sc_extent"), col("sc_ext_ml")
    out["SC_CHI2PROB"], out["SC_FVAR"] = col("sc_chi2prob"), col("sc_fvar")
    out["SC_FVARERR"] = 0.2 * out["SC_FVAR"]
    out["SC_VAR_FLAG"] = rows["sc_var_flag"].to_numpy(dtype=bool)
    out["SC_SUM_FLAG"] = rows["sc_sum_flag"].fillna(0).to_numpy(dtype=np.uint8)
    out["SC_EP_8_FMIN"], out["SC_EP_8_FMAX"] = fmin, fmax
    out["SC_EP_8_FMIN_ERR"], out["SC_EP_8_FMAX_ERR"] = 0.1 * fmin, 0.1 * fmax
    out["N_DETECTIONS"] = np.where(fmin == fmax, 1, rng.integers(2, 6, n)).astype(np.int16)
    return {name: np.array(values) for name, values in out.items()}  # writable copies


def slim_table(n: int, seed: int = 0, start: int = 0) -> dict[str, np.ndarray]:
    """`n` rows of the slim (one row per unique source) catalog's schema."""
    values = _source_values(n, seed, start)
    return {name: values[name] for name, _ in SLIM_COLUMNS}


def full_table(
    n: int, seed: int = 0, start: int = 0, *, wide: bool = True
) -> dict[str, np.ndarray]:
    """`n` rows of the full (one row per detection) catalog's schema: detection-level columns, then
    the source-level SC_* ones, then (`wide`) the per-camera columns of the real file."""
    src = _source_values(n, seed, start)
    rng = np.random.default_rng(seed + 1)
    det: dict[str, np.ndarray] = {
        "DETID": 101_000_000_000_000 + start + np.arange(n, dtype=np.int64),
        "SRCID": src["SRCID"],
        "IAUNAME": src["IAUNAME"],
        "OBS_ID": np.char.zfill(rng.integers(100000000, 999999999, n).astype("S10"), 10),
        "RA": src["SC_RA"],
        "DEC": src["SC_DEC"],
        "POSERR": src["SC_POSERR"],
    }
    for b in (1, 2, 3, 4, 5, 8, 9):
        det[f"EP_{b}_FLUX"] = src[f"SC_EP_{b}_FLUX"]
        det[f"EP_{b}_FLUX_ERR"] = src[f"SC_EP_{b}_FLUX_ERR"]
    det["EP_8_RATE"] = src["SC_EP_8_FLUX"] * RATE_PER_FLUX
    det["EP_8_RATE_ERR"] = 0.1 * det["EP_8_RATE"]
    det["EP_8_DET_ML"] = src["SC_DET_ML"]
    for i in (1, 2, 3, 4):
        det[f"EP_HR{i}"], det[f"EP_HR{i}_ERR"] = src[f"SC_HR{i}"], src[f"SC_HR{i}_ERR"]
    det["EP_EXTENT"], det["EP_EXTENT_ERR"], det["EP_EXTENT_ML"] = (
        src["SC_EXTENT"],
        0.1 * src["SC_EXTENT"],
        src["SC_EXT_ML"],
    )
    det["EP_CHI2PROB"], det["PN_FVAR"], det["PN_FVARERR"] = (
        src["SC_CHI2PROB"],
        src["SC_FVAR"],
        src["SC_FVARERR"],
    )
    det["VAR_FLAG"], det["SUM_FLAG"] = src["SC_VAR_FLAG"], src["SC_SUM_FLAG"]
    for name, _ in SLIM_COLUMNS:
        if name.startswith("SC_") or name == "N_DETECTIONS":
            det[name] = src[name]
    if wide:
        noise = rng.random(n).astype(np.float32)
        for k, (name, _) in enumerate(FULL_CAMERA_COLUMNS):
            det[name] = noise * np.float32(k + 1)
    return det


def fits_formats(columns: dict[str, np.ndarray]) -> list[tuple[str, str]]:
    """(name, FITS format) for each column of a slim or full table."""
    known = dict(SLIM_COLUMNS + FULL_DETECTION_COLUMNS + FULL_CAMERA_COLUMNS)
    return [(name, known[name]) for name in columns]


def write_fits(path: str | Path, make_rows, n: int, *, chunk: int = 100_000, seed: int = 0) -> Path:
    """Write `n` rows of `make_rows(count, seed, start)` (slim_table or full_table) as a FITS binary
    table, `chunk` rows at a time, through astropy's StreamingHDU."""
    from astropy.io import fits

    path = Path(path)
    first = make_rows(min(n, 2), seed)
    formats = fits_formats(first)
    columns = [fits.Column(name=name, format=fmt, array=first[name][:0]) for name, fmt in formats]
    header = fits.BinTableHDU.from_columns(columns, nrows=0).header
    header["NAXIS2"] = n
    header["EXTNAME"] = "SRCLIST"
    path.unlink(missing_ok=True)  # StreamingHDU appends to an existing file
    stream = fits.StreamingHDU(str(path), header)
    try:
        for k, start in enumerate(range(0, n, chunk)):
            rows = make_rows(min(chunk, n - start), seed + k, start)
            hdu = fits.BinTableHDU.from_columns(
                [fits.Column(name=name, format=fmt, array=rows[name]) for name, fmt in formats]
            )
            # the FITS field values (T/F logicals) behind the converted columns
            hdu.data._scale_back()
            raw = np.ndarray.view(hdu.data, np.ndarray)
            stream.write(
                raw.astype(raw.dtype.newbyteorder(">")).view(np.uint8)
            )  # FITS is big-endian
    finally:
        stream.close()
    return path


def write_table(path: str | Path, columns: dict[str, np.ndarray]) -> Path:
    """A small in-memory table as FITS, CSV or Parquet by extension (test files)."""
    path = Path(path)
    frame_values = {k: (v.astype(str) if v.dtype.kind == "S" else v) for k, v in columns.items()}
    if path.suffix == ".fits":
        from astropy.io import fits

        fits.BinTableHDU.from_columns(
            [
                fits.Column(name=name, format=fmt, array=columns[name])
                for name, fmt in fits_formats(columns)
            ]
        ).writeto(path)
    elif path.suffix == ".parquet":
        pd.DataFrame(frame_values).to_parquet(path, index=False)
    else:
        pd.DataFrame(frame_values).to_csv(path, index=False)
    return path

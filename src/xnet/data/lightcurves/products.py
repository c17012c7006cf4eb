"""Folders of per-source light-curve FITS products, as the missions publish them.

- `xmm`: XMM-Newton EPIC source time series, the pipeline's `SRCTSR` products. File names follow
  the pipeline product convention (XMM-Newton Data Files Handbook, sec. 8; SAS User Guide 4.2):
  `P<obsid:10><inst:2><S|U|X><expo:3>SRCTSR<band:1><source number, hex:3>.FTZ`, band 8 being
  0.2-12 keV. The `RATE` table holds TIME, RATE, ERROR and FRACEXP (and BACKV, BACKE; SAS
  `epiclccorr`), with TIMEDEL, TIMEPIXR and MJDREF in its header (OGIP/93-003); the source's good
  time intervals are the `SRC_GTIS` table (START, STOP). Id: `<obsid>_<source number>`, decimal.
- `csc`: Chandra Source Catalog per-observation light curves (`lc3.fits`; CSC data products,
  "Per-Observation Detections Light Curve Files"): `<inst><src><obsid:5>_<obi:3>N<ver:3>[_<c>]
  _r<region:4><band>_lc3.fits`, a `LIGHTCURVE` table (TIME, COUNT_RATE, COUNT_RATE_ERR; TIME_MIN
  and TIME_MAX where present) followed by `BKGLIGHTCURVE`. Id: `<obsid>_<region>`, decimal.

The rate table is found by name wherever it lies in the file (or, failing that, as the first table
with the time and rate columns), so a file with the rate table in a later HDU reads the same.
GTI tables are any with START and STOP columns (stingray's `get_gti_from_hdu`): for `xmm` the
source's own (`SRC_GTIS`) or else the intersection of all; for `csc` the union (per-chip GTIs).
`id_from: header:KEYWORD` takes the id from a header keyword instead of the file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xnet.data.lightcurves.records import make_lightcurve
from xnet.errors import XnetError


@dataclass(frozen=True)
class ProductFormat:
    title: str
    pattern: str  # glob of the files in a folder
    name: re.Pattern  # file name -> groups `id` parts and `band`
    rate_hdu: str
    time: str
    rate: str
    error: str
    frac_exp: str | None
    band: str | None  # default band
    gti_merge: str  # how several GTI tables combine (stingray merge_gtis strategy)
    gti_own: str | None = None  # the GTI table that is the source's own, where there is one

    def file_id(self, match: re.Match) -> str:
        parts = match.groupdict()
        if "src" in parts:  # XMM: the observation's source number, hexadecimal in the name
            return f"{parts['obsid']}_{int(parts['src'], 16)}"
        return f"{int(parts['obsid'])}_{int(parts['region'])}"


FORMATS = {
    "xmm": ProductFormat(
        title="XMM-Newton EPIC source time series (SRCTSR)",
        pattern="*SRCTSR*",
        name=re.compile(
            r"^P(?P<obsid>\d{10})(?P<inst>M1|M2|PN|EP)[SUX]\d{3}SRCTSR(?P<band>[0-9A-Z])"
            r"(?P<src>[0-9A-F]{3})\.(FTZ|FIT|FITS)(\.GZ)?$",
            re.IGNORECASE,
        ),
        rate_hdu="RATE",
        time="TIME",
        rate="RATE",
        error="ERROR",
        frac_exp="FRACEXP",
        band="8",
        gti_merge="intersection",
        gti_own="SRC_GTIS",
    ),
    "csc": ProductFormat(
        title="Chandra Source Catalog light curve (lc3)",
        pattern="*_lc3.fits*",
        name=re.compile(
            r"^(acis|hrc)[a-z](?P<obsid>\d{5})_\d{3}N\d{3}(_[a-z])?_r(?P<region>\d{4})"
            r"(?P<band>[a-z])_lc3\.fits(\.gz)?$",
            re.IGNORECASE,
        ),
        rate_hdu="LIGHTCURVE",
        time="TIME",
        rate="COUNT_RATE",
        error="COUNT_RATE_ERR",
        frac_exp=None,
        band="b",
        gti_merge="union",
    ),
}


def product_format(name: str) -> ProductFormat:
    if name not in FORMATS:
        raise XnetError(
            f"lightcurves.format={name!r}: not one of {', '.join(FORMATS)}, table "
            f"(a long table: one row per time bin)"
        )
    return FORMATS[name]


def _open(path: Path):
    """The file's HDUs, all read (astropy warns, and drops the rest, where a file is cut short)."""
    import warnings

    from astropy.io import fits

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", fits.verify.VerifyWarning)
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
    except Exception as err:  # astropy raises OSError, ValueError, VerifyError... for bad files
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise XnetError(f"{path}: not a readable FITS light curve ({reason})") from None
    damaged = [w for w in caught if issubclass(w.category, fits.verify.VerifyWarning)]
    if damaged:
        hdul.close()
        reason = " ".join(str(damaged[0].message).split())
        raise XnetError(f"{path}: not a readable FITS light curve (damaged: {reason})")
    return hdul


def _column(table, name: str) -> str | None:
    return next((c for c in table.columns.names if c.upper() == name.upper()), None)


def rate_table(hdul, fmt: ProductFormat, path: Path):
    """The HDU holding the light curve: the one named `fmt.rate_hdu`, else the first table with the
    time and rate columns, wherever it lies in the file."""
    from astropy.io import fits

    tables = [h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
    named = [h for h in tables if h.name.upper() == fmt.rate_hdu]
    usable = named or [h for h in tables if _column(h, fmt.time) and _column(h, fmt.rate)]
    if not usable:
        names = ", ".join(h.name or "(unnamed)" for h in tables) or "none"
        raise XnetError(
            f"{path}: no {fmt.rate_hdu} table with {fmt.time} and {fmt.rate} columns (tables: "
            f"{names}); is it a {fmt.title} file?"
        )
    return usable[0]


def product_gtis(hdul, fmt: ProductFormat) -> np.ndarray | None:
    """The file's good time intervals (None where it has no GTI table)."""
    from xnet.data.lightcurves.records import import_stingray

    import_stingray()  # warnings silenced on the first import
    from stingray.gti import get_gti_from_hdu, hdu_contains_gti, merge_gtis

    tables = [h for h in hdul[1:] if hasattr(h, "columns") and hdu_contains_gti(h)]
    own = [h for h in tables if fmt.gti_own and h.name.upper() == fmt.gti_own]
    gtis = [np.asarray(get_gti_from_hdu(h), dtype=float).reshape(-1, 2) for h in own or tables]
    gtis = [g for g in gtis if len(g)]
    if not gtis:
        return None
    return gtis[0] if len(gtis) == 1 else np.asarray(merge_gtis(gtis, fmt.gti_merge), float)


def _times(table, header, fmt: ProductFormat, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres and widths: from TIME_MIN/TIME_MAX where present, else TIME shifted by
    TIMEPIXR (0: bin start, 0.5: centre, 1: end; OGIP/93-003) with TIMEDEL as the width."""
    lo, hi = _column(table, "TIME_MIN"), _column(table, "TIME_MAX")
    data = table.data
    if lo and hi:
        start, stop = np.asarray(data[lo], float), np.asarray(data[hi], float)
        return (start + stop) / 2, stop - start
    time = np.asarray(data[_column(table, fmt.time)], float)
    width = header.get("TIMEDEL")
    if width is None:
        width = float(np.median(np.diff(time))) if len(time) > 1 else 1.0
    shift = (0.5 - float(header.get("TIMEPIXR", 0.5))) * float(width)
    return time + shift, np.full(len(time), float(width))


def read_product(path: str | Path, fmt: ProductFormat | str, source: str | None = None):
    """One light-curve product file as a checked stingray `Lightcurve`."""
    fmt = product_format(fmt) if isinstance(fmt, str) else fmt
    path = Path(path)
    try:
        return _read_product(path, fmt, source)
    except (OSError, ValueError, TypeError, KeyError, IndexError) as err:  # damaged data or header
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise XnetError(f"{path}: not a readable FITS light curve ({reason})") from None


def _read_product(path: Path, fmt: ProductFormat, source: str | None):
    with _open(path) as hdul:
        table = rate_table(hdul, fmt, path)
        header = table.header
        missing = [c for c in (fmt.rate, fmt.error) if not _column(table, c)]
        if missing:
            raise XnetError(
                f"{path}: table {table.name} lacks column {', '.join(missing)} (columns: "
                f"{', '.join(table.columns.names)}); is it a {fmt.title} file?"
            )
        time, width = _times(table, header, fmt, path)
        rate = np.asarray(table.data[_column(table, fmt.rate)], float)
        error = np.asarray(table.data[_column(table, fmt.error)], float)
        exposure_column = _column(table, fmt.frac_exp) if fmt.frac_exp else None
        frac_exp = np.asarray(table.data[exposure_column], float) if exposure_column else None
        mjdref = header.get("MJDREF", header.get("MJDREFI", 0.0) + header.get("MJDREFF", 0.0))
        gti = product_gtis(hdul, fmt)
    return make_lightcurve(
        time,
        rate,
        error,
        dt=width,
        gti=gti,
        frac_exp=frac_exp,
        mjdref=float(mjdref),
        path=path,
        source=source,
    )


def header_id(path: Path, keyword: str) -> str | None:
    """A header keyword's value in any HDU of the file (the first that has it)."""
    with _open(path) as hdul:
        for hdu in hdul:
            if keyword in hdu.header:
                return str(hdu.header[keyword]).strip() or None
    return None


def index_folder(
    folder: str | Path,
    fmt: ProductFormat,
    pattern: str | None = None,
    band: str | None = None,
    id_from: str = "filename",
) -> list[tuple[str, Path]]:
    """(source id, file) for each product file in `folder` of the selected band; ids from file names
    (`id_from: filename`), a header keyword (`header:KEYWORD`) or a regex with an `id` group."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise XnetError(f"{folder}: light-curve folder not found (lightcurves.path)")
    files = sorted(p for p in folder.glob(pattern or fmt.pattern) if p.is_file())
    custom = None if id_from in ("filename", None) or id_from.startswith("header:") else id_from
    out = []
    for path in files:
        match = fmt.name.match(path.name)
        if match is None and custom is None:
            raise XnetError(
                f"{path}: file name does not follow the {fmt.title} naming convention; rename it, "
                f"or set lightcurves.pattern to leave it out or lightcurves.id_from to name its id"
            )
        file_band = match["band"] if match else None
        if band is not None and file_band is not None and file_band.lower() != str(band).lower():
            continue
        out.append((_file_source(path, fmt, match, id_from, custom), path))
    if not out:
        raise XnetError(
            f"{folder}: no {fmt.title} files matching {pattern or fmt.pattern}"
            f"{f' in band {band}' if band is not None else ''} (lightcurves.path, .pattern, .band)"
        )
    return out


def _file_source(path: Path, fmt, match, id_from: str, custom: str | None) -> str:
    if id_from and id_from.startswith("header:"):
        keyword = id_from.split(":", 1)[1]
        value = header_id(path, keyword)
        if value is None:
            raise XnetError(f"{path}: no header keyword {keyword} (lightcurves.id_from={id_from})")
        return value
    if custom is not None:
        found = re.search(custom, path.name)
        if found is None or "id" not in found.groupdict():
            raise XnetError(
                f"{path}: lightcurves.id_from={custom!r} does not match the file name with an "
                f"(?P<id>...) group"
            )
        return found["id"]
    return fmt.file_id(match)

"""The prediction table's columns: their names, what each says (unit, description, UCD) for FITS
and VOTable outputs, the checks that the names can be written, and the table's provenance."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xnet.data.catalog import probability_column, probability_column_clashes
from xnet.errors import XnetError
from xnet.predict.output import check_column_names

if TYPE_CHECKING:  # pyarrow, astropy and the run's modules load only once predicting
    from xnet.data.tables import TableInfo
    from xnet.predict.plan import InputPlan
    from xnet.predict.trained_run import TrainedRun

#: prediction columns (the input's id, position and label columns come first, under their own
#: names)
PRED_CLASS, PRED_PROB, FLAG, ROW, IN_TRAINING = (
    "pred_class",
    "pred_prob",
    "flag",
    "row",
    "in_training",
)
CONFIDENCE = "confidence"


#: the longest description that stays one FITS card (TCOMMn) and one VOTable DESCRIPTION line
DESCRIPTION_MAX = 64


def column_meta(plan: InputPlan, classes: list[str], run: TrainedRun | None = None) -> dict:
    """{output column: (unit, description, UCD)} for FITS and VOTable outputs: descriptions in an
    astronomer's words, each at most `DESCRIPTION_MAX` characters; IVOA UCDs for positions,
    identifiers, classes and probabilities."""
    plain = run is None or run.confidence == "lower_bound" or not run.prior_power
    meta: dict[str, tuple[str | None, str, str | None]] = {
        ROW: (None, "row number in the input catalog (from 0)", "meta.record"),
        PRED_CLASS: (None, "predicted class (empty: no features to classify)", "src.class"),
        PRED_PROB: (None, "probability of pred_class (calibrated)", "stat.probability"),
        FLAG: (None, "why not to trust the row (empty: no reason known)", "meta.code.qual"),
        CONFIDENCE: (
            None,
            "sort or cut on it (metrics.json coverage); = pred_prob here"
            if plain
            else "pred_prob after the class-prior adjustment; sort or cut on it",
            "stat.probability",
        ),
        IN_TRAINING: (None, "true: the run trained or validated on it (not a test)", "meta.code"),
    }
    for c in classes:
        meta[probability_column(c)] = (
            None,
            f"calibrated probability that the source is {c}"[:DESCRIPTION_MAX],
            "stat.probability",
        )
    for column in plan.carried:
        meta[column] = (None, f"{column} of the input catalog"[:DESCRIPTION_MAX], None)
    if plan.label:
        meta[plan.label] = (None, "class given in the input catalog", "src.class")
    for column, axis, ucd in (
        (plan.ra, "right ascension", "pos.eq.ra"),
        (plan.dec, "declination", "pos.eq.dec"),
    ):
        if column:
            meta[column] = ("deg", f"{axis} (J2000) from the input catalog", f"{ucd};meta.main")
    if plan.id:
        meta[plan.id] = (None, "source identifier in the input catalog", "meta.id;meta.main")
    return meta


def check_names(plan: InputPlan, classes: list[str], output: Path) -> None:
    """Before any work: no carried input column has a prediction column's name, every class can
    name a probability column, and (FITS output) every name is a FITS column name."""
    ours = [
        PRED_CLASS,
        PRED_PROB,
        CONFIDENCE,
        FLAG,
        IN_TRAINING,
        *(probability_column(c) for c in classes),
    ] + ([ROW] if plan.id is None else [])
    clash = sorted({c for c in plan.carried if c.lower() in {o.lower() for o in ours}})
    if clash:
        raise XnetError(
            f"input column {', '.join(map(repr, clash))} (id/position/label in catalog config "
            f"'{plan.name}') has the name of a prediction column; rename it in the file"
        )
    problems = probability_column_clashes(classes)  # a run trained before xnet refused them
    if problems:
        raise XnetError(
            f"the run's classes cannot be written as prediction columns: {'; '.join(problems)}; "
            f"retrain with the classes renamed (`label_map` in the data YAML)"
        )
    check_column_names(output, [*plan.carried, *ours])


def provenance(run: TrainedRun, info: TableInfo, plan: InputPlan) -> dict[str, tuple[str, str]]:
    """FITS keywords (a VOTable's PARAMs) saying where a prediction table comes from."""
    from datetime import datetime, timezone

    import xnet

    return {
        "CREATOR": (f"xnet {xnet.__version__}", "software that wrote the table"),
        "DATE": (datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "written (UTC)"),
        "XNETRUN": (str(Path(run.source).resolve()), "training run that classified the sources"),
        "XNETINP": (str(Path(info.path).resolve()), "input catalog"),
        "XNETCAT": (plan.name, "catalog config that read the input"),
    }


def input_units(info: TableInfo, columns) -> dict[str, str]:
    """The units a FITS input gives the columns copied into the output (TUNITn)."""
    if info.kind != "fits":
        return {}
    from astropy.io import fits

    header = fits.getheader(info.path, info.hdu)
    units = {
        header.get(f"TTYPE{i}"): header.get(f"TUNIT{i}") for i in range(1, header["TFIELDS"] + 1)
    }
    return {c: str(units[c]).strip() for c in columns if units.get(c)}

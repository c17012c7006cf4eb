"""Whole commands as users run them, each against its reference, in the same run (a benchmark, not a test).

Every row is a whole process, from interpreter start to exit, with the command's defaults; the
reference of each row runs in the same loop, interleaved, so that both see the same machine state.
Rows (issue "Fast where users feel it"):

1. `python -m xnet.train` (bundled XMM slice)           vs `python -c "import lightning, torch"`
                                                          and the study as a scikit-learn script
2. 5-fold CV on a 16,000-row Chandra-schema file         vs scikit-learn `cross_validate` of the study's
   (`data=csc_muwclass data.path=... features=xray_mw`)     MLP with `early_stopping=True`
3. a 3-width x 5-fold sweep on the same file            vs 15 sequential scikit-learn fits (same folds)
4. `python -m xnet.predict` on a 656,997-row slim FITS  vs a whole-process astropy read of the columns
   (4XMM-DR13 schema, drawn from the bundled slice)          that predict reads
5. `startup`: `import lightning, torch` the way the entry points do it (`xnet.runtime.startup`: collector
   paused, imports frozen) vs the plain `python -c "import lightning, torch"`

The data home (`XNET_DATA_HOME`, where training caches the data figures) is a fresh temporary folder:
the `train` row first runs `python -m xnet.train` once untimed, so its timed runs are the ones a user
repeats (figures of unchanged data copied from the cache); the CV and sweep rows time the first run
on a new file (data figures drawn once). The 16,000-row file is the bundled Chandra set resampled with replacement (seeded); the FITS file is
written by `xnet.testing.mock_catalog`. Both live in a temporary folder deleted at the end. Peak
memory is each process's own maximum resident size (`os.wait4`).

    python benchmarks/commands.py [--repeats 3] [--only train,cv,sweep,predict,startup] [--rows 16000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "src" / "xnet" / "data" / "bundled"
if not BUNDLED.exists():  # the layout before the sub-packages
    BUNDLED = REPO / "src" / "xnet" / "datasets"
XMM_CSV = BUNDLED / "lin2024_4xmm_dr13_sample.csv"
CSC_CSV = BUNDLED / "muwclass_cscv2_td.csv"

# --- the references: plain scikit-learn / astropy scripts, no xnet import ------------------------

STUDY_MLP = """
from sklearn.neural_network import MLPClassifier
def study_mlp(hidden=30, seed=1):
    # the founding study's settings: 2 ReLU layers, Adam lr 0.01, betas (0.15, 0.990), eps 1e-10,
    # L2 1e-4, batch 200, early stopping on 10 % with patience 60, at most 600 epochs
    return MLPClassifier(hidden_layer_sizes=(hidden, hidden), alpha=1e-4, batch_size=200,
        learning_rate_init=0.01, beta_1=0.15, beta_2=0.990, epsilon=1e-10, early_stopping=True,
        validation_fraction=0.1, n_iter_no_change=60, max_iter=600, random_state=seed)
"""

PIPELINE = """
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, PowerTransformer
def pipeline(model):
    return make_pipeline(SimpleImputer(strategy="median"), PowerTransformer(standardize=True), MinMaxScaler(), model)
"""

# The study as a scikit-learn script: read, features, split, Yeo-Johnson + min-max, MLP, score.
STUDY_SCRIPT = (
    STUDY_MLP
    + PIPELINE
    + """
import sys, warnings
import numpy as np, pandas as pd
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
warnings.filterwarnings("ignore")
df = pd.read_csv(sys.argv[1], na_values=["NaN"]).dropna(how="all")
counts = df["Class"].value_counts()
df = df[df["Class"].isin(counts[counts >= 10].index)]
X = pd.DataFrame({"log_flux": np.log10(df["F8"]), **{h: df[h] for h in ("HR1", "HR2", "HR3", "HR4")},
                  "chi2prob": df["sc_chi2prob"], "fvar": df["sc_fvar"], "extent": df["sc_extent"]})
X["chi2prob_missing"] = X["chi2prob"].isna().astype(float)
X["fvar_missing"] = X["fvar"].isna().astype(float)
y = df["Class"].to_numpy(dtype=object)
Xtr, Xte, ytr, yte = train_test_split(X.to_numpy(float), y, test_size=0.2, stratify=y, random_state=1)
model = pipeline(study_mlp()).fit(Xtr, ytr)
print("balanced_accuracy", round(balanced_accuracy_score(yte, model.predict(Xte)), 3))
"""
)

CHANDRA_FEATURES = """
import numpy as np, pandas as pd
def chandra_features(path):
    df = pd.read_csv(path)
    X = pd.DataFrame({c: np.log10(df[c].where(df[c] > 0)) for c in ("Fs", "Fm", "Fh", "Fb")})
    for c in ("P_intra", "P_inter", "Gmag", "BPmag", "RPmag", "Jmag", "Hmag", "Kmag", "W1mag", "W2mag", "W3mag", "Plx", "PM", "rgeo"):
        X[c] = df[c]
    for c in ("P_intra", "P_inter", "Gmag", "Jmag", "W1mag", "rgeo", "Plx"):
        X[c + "_missing"] = df[c].isna().astype(float)
    return X.to_numpy(float), df["True_Class"].to_numpy(dtype=object)
"""

# scikit-learn's cross_validate of the study's MLP (early stopping on), 5 stratified folds.
CV_SCRIPT = (
    STUDY_MLP
    + PIPELINE
    + CHANDRA_FEATURES
    + """
import sys, warnings
from sklearn.model_selection import StratifiedKFold, cross_validate
warnings.filterwarnings("ignore")
X, y = chandra_features(sys.argv[1])
widths = [int(w) for w in sys.argv[2].split(",")]
folds = StratifiedKFold(5, shuffle=True, random_state=1)
for hidden in widths:
    scores = cross_validate(pipeline(study_mlp(hidden)), X, y, cv=folds, scoring="balanced_accuracy")
    print(hidden, "balanced_accuracy", round(scores["test_score"].mean(), 3))
"""
)

# A bare astropy read of the columns xnet.predict reads, as a whole process.
READ_SCRIPT = """
import sys
import numpy as np
from astropy.io import fits
with fits.open(sys.argv[1], memmap=True) as hdul:
    data = hdul[1].data
    values = {name: np.array(data[name]) for name in sys.argv[2].split(",")}
print(len(next(iter(values.values()))), "rows")
"""


def timed(argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB, this process's own) and stdout of one whole process."""
    global _count
    _count += 1
    argv = [a.replace("{n}", str(_count)) for a in argv]  # a fresh run directory per process
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, cwd=REPO, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err.read()[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read()


_count = 0


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def script(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def resampled_chandra(path: Path, rows: int, seed: int = 0) -> Path:
    import pandas as pd

    df = pd.read_csv(CSC_CSV)
    df.sample(n=rows, replace=True, random_state=seed).to_csv(path, index=False)
    return path


def slim_fits(path: Path, rows: int) -> Path:
    try:
        from xnet.testing import mock_catalog
    except ImportError:  # the layout before the sub-packages
        from xnet import mock_catalog
    mock_catalog.write_fits(path, mock_catalog.slim_table, rows)
    return path


def predict_columns() -> list[str]:
    """The slim catalog's columns that xnet.predict reads for a model trained on the XMM slice."""
    return [
        "SRCID",
        "IAUNAME",
        "SC_RA",
        "SC_DEC",
        "SC_EP_8_FLUX",
        "SC_EP_8_FMIN",
        "SC_EP_8_FMAX",
        "SC_HR1",
        "SC_HR2",
        "SC_HR3",
        "SC_HR4",
        "SC_CHI2PROB",
        "SC_FVAR",
        "SC_EXTENT",
        "SC_SUM_FLAG",
    ]


def median_row(
    name: str, xnet: list[tuple], ref: list[tuple], ref_name: str, rows: int | None = None
) -> dict:
    x = statistics.median(t for t, _, _ in xnet)
    r = statistics.median(t for t, _, _ in ref)
    return {
        "command": name,
        "xnet_s": x,
        "reference": ref_name,
        "ref_s": r,
        "ratio": x / r,
        "xnet_mb": max(m for _, m, _ in xnet),
        "ref_mb": max(m for _, m, _ in ref),
        "rows_per_s": rows / x if rows else None,
        "xnet_runs": [round(t, 2) for t, _, _ in xnet],
        "ref_runs": [round(t, 2) for t, _, _ in ref],
        "ref_out": ref[-1][2].strip().splitlines()[-1:],
    }


def interleave(repeats: int, a: list[str], b: list[str], env=None) -> tuple[list, list]:
    ra, rb = [], []
    for _ in range(repeats):
        ra.append(timed(a, env))
        rb.append(timed(b, env))
    return ra, rb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--rows", type=int, default=16_000, help="rows of the resampled Chandra file"
    )
    parser.add_argument("--slim-rows", type=int, default=656_997)
    parser.add_argument("--only", default="train,cv,sweep,predict")
    args = parser.parse_args()
    only = set(args.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="xnet-commands-"))
    env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(tmp / "data_home")}
    results = []
    try:
        if "train" in only:
            timed(
                python("-m", "xnet.train", f"hydra.run.dir={tmp}/warm"), env
            )  # fills the figure cache
            xnet, imports = interleave(
                args.repeats,
                python("-m", "xnet.train", f"hydra.run.dir={tmp}/train{{n}}"),
                script("import lightning, torch"),
                env,
            )
            results.append(
                median_row(
                    "python -m xnet.train", xnet, imports, 'python -c "import lightning, torch"'
                )
            )
            study = [timed(script(STUDY_SCRIPT, str(XMM_CSV)), env) for _ in range(args.repeats)]
            results.append(
                median_row(
                    "python -m xnet.train", xnet, study, "the study as a scikit-learn script"
                )
            )
        if only & {"cv", "sweep"}:
            big = resampled_chandra(tmp / "chandra16k.csv", args.rows)
        if "cv" in only:
            xnet, ref = interleave(
                args.repeats,
                python(
                    "-m",
                    "xnet.train",
                    "data=csc_muwclass",
                    f"data.path={big}",
                    "features=xray_mw",
                    "cv.folds=5",
                    f"hydra.run.dir={tmp}/cv{{n}}",
                ),
                script(CV_SCRIPT, str(big), "30"),
                env,
            )
            results.append(
                median_row(
                    f"5-fold CV, {args.rows:,} rows", xnet, ref, "scikit-learn cross_validate"
                )
            )
        if "sweep" in only:
            xnet, ref = interleave(
                args.repeats,
                python(
                    "-m",
                    "xnet.train",
                    "-m",
                    "data=csc_muwclass",
                    f"data.path={big}",
                    "features=xray_mw",
                    "cv.folds=5",
                    "model.hidden=10,30,100",
                    f"hydra.sweep.dir={tmp}/sweep{{n}}",
                ),
                script(CV_SCRIPT, str(big), "10,30,100"),
                env,
            )
            results.append(
                median_row(
                    f"3 widths x 5 folds, {args.rows:,} rows",
                    xnet,
                    ref,
                    "15 sequential scikit-learn fits",
                )
            )
        if "predict" in only:
            run = tmp / "run"
            timed(
                python(
                    "-m",
                    "xnet.train",
                    f"hydra.run.dir={run}",
                    "logger=none",
                    "figures.enabled=false",
                ),
                env,
            )
            fits_path = slim_fits(tmp / "slim.fits", args.slim_rows)
            xnet, ref = interleave(
                args.repeats,
                python(
                    "-m",
                    "xnet.predict",
                    f"run={run}",
                    f"input={fits_path}",
                    f"output={tmp}/pred.parquet",
                    "overwrite=true",
                ),
                script(READ_SCRIPT, str(fits_path), ",".join(predict_columns())),
                env,
            )
            results.append(
                median_row(
                    f"python -m xnet.predict, {args.slim_rows:,} rows",
                    xnet,
                    ref,
                    "whole-process astropy read",
                    rows=args.slim_rows,
                )
            )
        if "startup" in only:
            xnet, ref = interleave(
                args.repeats,
                script(
                    "from xnet.runtime import startup; startup.pause(); startup.resume('lightning', 'torch')"
                ),
                script("import lightning, torch"),
                env,
            )
            results.append(
                median_row(
                    "import lightning, torch as xnet.runtime.startup does",
                    xnet,
                    ref,
                    'python -c "import lightning, torch"',
                )
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nWhole commands, medians of {args.repeats} (interpreter start to exit, defaults; same run, interleaved)\n"
    )
    print(
        "| command (whole process) | xnet s | reference | reference s | ratio | peak MiB xnet / ref | rows/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        rate = f"{r['rows_per_s']:,.0f}" if r["rows_per_s"] else ""
        print(
            f"| {r['command']} | {r['xnet_s']:.2f} | {r['reference']} | {r['ref_s']:.2f} | {r['ratio']:.2f} | "
            f"{r['xnet_mb']:.0f} / {r['ref_mb']:.0f} | {rate} |"
        )
    print()
    for r in results:
        print(
            f"{r['command']}: xnet runs {r['xnet_runs']} s; {r['reference']} runs {r['ref_runs']} s {' '.join(r['ref_out'])}"
        )
    print("Peak memory: each process's own maximum resident size (os.wait4).")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

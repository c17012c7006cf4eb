"""Whole commands as users run them, each against its reference, in the same run (a benchmark).

Every row is a whole process, from interpreter start to exit, with the command's defaults; the
reference of each row runs in the same loop, interleaved, so that both see the same machine state.
Rows (issues "Fast where users feel it" and "Honest speed"):

1. `train`: `python -m xnet.train` (bundled XMM slice) vs `python -c "import lightning, torch"`
   and the study as a scikit-learn script;
2. `cv`: 5-fold CV on a 16,000-source Chandra-schema file (`data=csc_muwclass data.path=...
   features=xray_mw cv.folds=5`) vs scikit-learn `cross_validate` of the study's MLP with
   `early_stopping=True`;
3. `sweep`: 3 widths x 5 folds on the same file vs 15 sequential scikit-learn fits (same folds);
4. `predict`: `python -m xnet.predict` on a 656,997-row slim FITS (4XMM-DR13 schema, from the
   bundled slice) vs a whole-process astropy read of the columns that predict reads;
5. `startup`: `import lightning, torch` the way the entry points do it (`xnet.runtime.startup`:
   collector paused, imports frozen) vs the plain `python -c "import lightning, torch"`.
Extra rows (`--only`): `cv160k`, the CV on a 160,000-source file (10x the study; one repeat is
usual: scikit-learn takes many minutes), and `duplicates`, the CV on the old benchmark file (the
bundled 2,941 sources drawn with replacement, each about 5.4 times under its id: xnet groups the
copies, scikit-learn's early-stopping split validates on copies of its training rows, so the two
stop after very different numbers of epochs; kept only to show that).

The CV files hold distinct sources (`xnet.testing.distinct_sources`: the bundled Chandra set
resampled with replacement, every numeric value redrawn within its quoted error or by 3 %, unique
ids; seeded), written into a temporary folder deleted at the end. For every training row the
epochs each side ran are printed (xnet: per fold from metrics.json; scikit-learn: `n_iter_` per
fold) with the time per member-epoch (xnet: the stacked fit's time over its member-epochs, from
train.log; scikit-learn: `fit_time` over `n_iter_`), so a stopping difference cannot pass for
speed.

The data home (`XNET_DATA_HOME`, where training caches the data figures) is a fresh temporary
folder: the `train` row first runs `python -m xnet.train` once untimed, so its timed runs are the
ones a user repeats (figures of unchanged data copied from the cache); the CV and sweep rows time
the first run on a new file (data figures drawn once). Peak memory is each process's own maximum
resident size (`os.wait4`).

    python benchmarks/commands.py [--repeats 3] [--only train,cv,sweep,predict,startup]
    python benchmarks/commands.py --only cv160k,duplicates --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from xnet.testing.distinct_sources import bootstrap_duplicates, write_distinct_sources

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
    return make_pipeline(
        SimpleImputer(strategy="median"), PowerTransformer(standardize=True), MinMaxScaler(), model
    )
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
X = pd.DataFrame({"log_flux": np.log10(df["F8"]),
                  **{h: df[h] for h in ("HR1", "HR2", "HR3", "HR4")},
                  "chi2prob": df["sc_chi2prob"], "fvar": df["sc_fvar"], "extent": df["sc_extent"]})
X["chi2prob_missing"] = X["chi2prob"].isna().astype(float)
X["fvar_missing"] = X["fvar"].isna().astype(float)
y = df["Class"].to_numpy(dtype=object)
Xtr, Xte, ytr, yte = train_test_split(
    X.to_numpy(float), y, test_size=0.2, stratify=y, random_state=1
)
model = pipeline(study_mlp()).fit(Xtr, ytr)
print("balanced_accuracy", round(balanced_accuracy_score(yte, model.predict(Xte)), 3))
"""
)

CHANDRA_FEATURES = """
import numpy as np, pandas as pd
def chandra_features(path):
    df = pd.read_csv(path)
    X = pd.DataFrame({c: np.log10(df[c].where(df[c] > 0)) for c in ("Fs", "Fm", "Fh", "Fb")})
    for c in ("P_intra", "P_inter", "Gmag", "BPmag", "RPmag", "Jmag", "Hmag", "Kmag",
              "W1mag", "W2mag", "W3mag", "Plx", "PM", "rgeo"):
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
import json, sys, warnings
from sklearn.model_selection import StratifiedKFold, cross_validate
warnings.filterwarnings("ignore")
X, y = chandra_features(sys.argv[1])
widths = [int(w) for w in sys.argv[2].split(",")]
folds = StratifiedKFold(5, shuffle=True, random_state=1)
for hidden in widths:
    scores = cross_validate(pipeline(study_mlp(hidden)), X, y, cv=folds,
                            scoring="balanced_accuracy", return_estimator=True)
    epochs = [int(e[-1].n_iter_) for e in scores["estimator"]]
    print(json.dumps({"hidden": hidden, "epochs": epochs, "fit_s": scores["fit_time"].tolist(),
                      "balanced_accuracy": round(scores["test_score"].mean(), 3)}))
"""
)

STARTUP = "from xnet.runtime import startup; startup.pause(); startup.resume('lightning', 'torch')"

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


def timed(argv: list[str], env: dict | None = None) -> tuple[float, float, str, int]:
    """Wall seconds, peak RSS (MiB, this process's own), stdout and number of one whole process
    (`{n}` in argv becomes the number: a fresh run directory per process)."""
    global _count
    _count += 1
    argv = [a.replace("{n}", str(_count)) for a in argv]
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
        return seconds, usage.ru_maxrss / 1024, out.read(), _count


_count = 0


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def script(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


STACK_LINE = re.compile(r"trained \d+ networks as one stack in ([\d.]+) s: (\d+) member-epochs")


def xnet_epochs(run_dir: Path) -> dict:
    """Epochs per fold (metrics.json of each job under run_dir) and the stacked fits' seconds and
    member-epochs (their train.log lines; a stack shared by sweep jobs is logged in each)."""
    epochs, lines = [], set()
    for metrics in sorted(run_dir.rglob("metrics.json")):
        for fold in json.loads(metrics.read_text())["folds"]:
            e = fold["epochs"]
            epochs += e if isinstance(e, list) else [e]
        log = metrics.parent / "train.log"
        lines |= set(STACK_LINE.findall(log.read_text())) if log.exists() else set()
    seconds = sum(float(s) for s, _ in lines)
    return {"epochs": epochs, "fit_s": seconds, "member_epochs": sum(int(m) for _, m in lines)}


def sklearn_epochs(stdout: str) -> dict:
    """Epochs (`n_iter_`) per fold and fit seconds of the CV script's JSON lines."""
    rows = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    epochs = [e for r in rows for e in r["epochs"]]
    fit_s = sum(sum(r["fit_s"]) for r in rows)
    return {"epochs": epochs, "fit_s": fit_s, "member_epochs": sum(epochs)}


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
    x = statistics.median(run[0] for run in xnet)
    r = statistics.median(run[0] for run in ref)
    return {
        "command": name,
        "xnet_s": x,
        "reference": ref_name,
        "ref_s": r,
        "ratio": x / r,
        "xnet_mb": max(run[1] for run in xnet),
        "ref_mb": max(run[1] for run in ref),
        "rows_per_s": rows / x if rows else None,
        "xnet_runs": [round(run[0], 2) for run in xnet],
        "ref_runs": [round(run[0], 2) for run in ref],
        "ref_out": ref[-1][2].strip().splitlines()[-1:],
    }


def interleave(repeats: int, a: list[str], b: list[str], env=None) -> tuple[list, list]:
    ra, rb = [], []
    for _ in range(repeats):
        ra.append(timed(a, env))
        rb.append(timed(b, env))
    return ra, rb


def training_row(name, tmp, data, rows, widths, repeats, env) -> dict:
    """A CV (one width) or sweep (several) on `data` against scikit-learn's cross_validate of
    each width, interleaved; with the epochs and per-member-epoch times of both sides."""
    common = ["data=csc_muwclass", f"data.path={data}", "features=xray_mw", "cv.folds=5"]
    tag = name.split()[0].replace(",", "")
    if len(widths) > 1:
        hidden = ",".join(str(w) for w in widths)
        argv = ["-m", *common, f"model.hidden={hidden}", f"hydra.sweep.dir={tmp}/{tag}{{n}}"]
        reference = f"{5 * len(widths)} sequential scikit-learn fits"
    else:
        argv = [*common, f"hydra.run.dir={tmp}/{tag}{{n}}"]
        reference = "scikit-learn cross_validate"
    xnet, ref = interleave(
        repeats,
        python("-m", "xnet.train", *argv),
        script(CV_SCRIPT, str(data), ",".join(str(w) for w in widths)),
        env,
    )
    row = median_row(f"{name}, {rows:,} sources", xnet, ref, reference)
    mine = [xnet_epochs(tmp / f"{tag}{run[3]}") for run in xnet]
    theirs = [sklearn_epochs(run[2]) for run in ref]
    row["epochs"] = {"xnet": mine[-1]["epochs"], "ref": theirs[-1]["epochs"]}
    row["ms_per_member_epoch"] = {
        side: statistics.median(1e3 * e["fit_s"] / max(e["member_epochs"], 1) for e in runs)
        for side, runs in (("xnet", mine), ("ref", theirs))
    }
    row["ref_out"] = [
        f"balanced accuracy {json.loads(ref[-1][2].splitlines()[-1])['balanced_accuracy']}"
    ]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=16_000, help="sources of the CV file")
    parser.add_argument("--big-rows", type=int, default=160_000, help="sources of the cv160k file")
    parser.add_argument("--slim-rows", type=int, default=656_997)
    parser.add_argument("--only", default="train,cv,sweep,predict,startup")
    parser.add_argument(
        "--pythonpath", help="PYTHONPATH of the timed processes (another checkout's src/)"
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="xnet-commands-"))
    env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(tmp / "data_home")}
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    results = []
    try:
        if "train" in only:
            results += train_rows(tmp, args.repeats, env)
        if only & {"cv", "sweep"}:
            distinct = write_distinct_sources(tmp / "distinct.csv", args.rows)
        if "cv" in only:
            results.append(
                training_row("5-fold CV", tmp, distinct, args.rows, [30], args.repeats, env)
            )
        if "sweep" in only:
            results.append(
                training_row(
                    "3 widths x 5 folds", tmp, distinct, args.rows, [10, 30, 100], args.repeats, env
                )
            )
        if "cv160k" in only:
            big = write_distinct_sources(tmp / "distinct_big.csv", args.big_rows)
            results.append(
                training_row("5-fold CV (10x)", tmp, big, args.big_rows, [30], args.repeats, env)
            )
        if "duplicates" in only:
            copies = bootstrap_duplicates(tmp / "copies.csv", args.rows)
            name = "5-fold CV, bootstrap copies (old file)"
            results.append(training_row(name, tmp, copies, args.rows, [30], args.repeats, env))
        if "predict" in only:
            results.append(predict_row(tmp, args.slim_rows, args.repeats, env))
        if "startup" in only:
            xnet, ref = interleave(
                args.repeats,
                script(STARTUP),
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
    report(results, args.repeats)


def train_rows(tmp: Path, repeats: int, env: dict) -> list[dict]:
    timed(python("-m", "xnet.train", f"hydra.run.dir={tmp}/warm"), env)  # fills the figure cache
    xnet, imports = interleave(
        repeats,
        python("-m", "xnet.train", f"hydra.run.dir={tmp}/train{{n}}"),
        script("import lightning, torch"),
        env,
    )
    study = [timed(script(STUDY_SCRIPT, str(XMM_CSV)), env) for _ in range(repeats)]
    return [
        median_row("python -m xnet.train", xnet, imports, 'python -c "import lightning, torch"'),
        median_row("python -m xnet.train", xnet, study, "the study as a scikit-learn script"),
    ]


def predict_row(tmp: Path, rows: int, repeats: int, env: dict) -> dict:
    run = tmp / "run"
    train = ["-m", "xnet.train", f"hydra.run.dir={run}", "logger=none", "figures.enabled=false"]
    timed(python(*train), env)
    fits_path = slim_fits(tmp / "slim.fits", rows)
    xnet, ref = interleave(
        repeats,
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
    name = f"python -m xnet.predict, {rows:,} rows"
    return median_row(name, xnet, ref, "whole-process astropy read", rows=rows)


TABLE = (
    "| command (whole process) | xnet s | reference | reference s | ratio | peak MiB xnet / ref |"
)
EPOCHS = (
    "| row | xnet epochs | xnet member-epochs | scikit-learn epochs | scikit-learn epochs in all "
    "| xnet ms / member-epoch | scikit-learn ms / epoch | ratio |"
)


def report(results: list[dict], repeats: int) -> None:
    print(f"\nWhole commands, medians of {repeats} (interpreter start to exit; interleaved)\n")
    print(TABLE + " rows/s |\n" + "|---" * 7 + "|")
    for r in results:
        rate = f"{r['rows_per_s']:,.0f}" if r["rows_per_s"] else ""
        print(
            f"| {r['command']} | {r['xnet_s']:.2f} | {r['reference']} | {r['ref_s']:.2f} | "
            f"{r['ratio']:.2f} | {r['xnet_mb']:.0f} / {r['ref_mb']:.0f} | {rate} |"
        )
    trained = [r for r in results if "epochs" in r]
    if trained:
        print(
            "\nEpochs each side ran (per fold; a sweep's jobs one after another) and fit time per"
        )
        print("member-epoch (xnet: stacked fit seconds / member-epochs, from train.log;")
        print("scikit-learn: fit_time / n_iter_), medians over the runs\n")
        print(EPOCHS + "\n" + "|---" * 8 + "|")
        for r in trained:
            ms, e = r["ms_per_member_epoch"], r["epochs"]
            print(
                f"| {r['command']} | {', '.join(map(str, e['xnet']))} | {sum(e['xnet'])} | "
                f"{', '.join(map(str, e['ref']))} | {sum(e['ref'])} | {ms['xnet']:.2f} | "
                f"{ms['ref']:.2f} | {ms['xnet'] / ms['ref']:.2f} |"
            )
    print()
    for r in results:
        runs = f"xnet runs {r['xnet_runs']} s; {r['reference']} runs {r['ref_runs']} s"
        print(f"{r['command']}: {runs} {' '.join(r['ref_out'])}")
    print("Peak memory: each process's own maximum resident size (os.wait4).")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load}")


if __name__ == "__main__":
    main()

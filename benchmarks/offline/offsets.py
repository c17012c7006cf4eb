"""Offline idea 1: per-class decision offsets b fitted on the out-of-bag rows (coordinate search on
a
coarse grid, shrunk); the inner score cross-fits b over the out-of-bag rows (5 folds), the test
columns apply b fitted on all of them. `python benchmarks/offline/offsets.py SEED offsets`
(XNET_DUMPS: the folder of capture.py's dumps). Prints inner and test accuracy / bal.acc / macro-F1.
"""

import os
import pickle
import sys

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

seed = int(sys.argv[1])
mode = sys.argv[2]
DUMPS = os.environ.get("XNET_DUMPS", "/tmp/sci")
S = pickle.load(open(f"{DUMPS}/s{seed}.pkl", "rb"))


def met(y, p):
    return np.array(
        [accuracy_score(y, p), balanced_accuracy_score(y, p), f1_score(y, p, average="macro")]
    )


def score(lp, b):
    return (lp + b).argmax(1)


GRID = np.arange(-1.0, 1.01, 0.25)


def fit_offsets(lp, y, grid=GRID, shrink=1.0, rounds=2, obj=(0, 1, 1)):
    k = lp.shape[1]
    b = np.zeros(k)
    for _ in range(rounds):
        for c in range(k):
            best = None
            for g in grid:
                bb = b.copy()
                bb[c] = g
                m = met(y, score(lp, bb))
                v = float(np.dot(obj, m)) - 1e-3 * abs(g)
                if best is None or v > best[0] + 1e-12:
                    best = (v, g)
            b[c] = best[1]
    return b * shrink


def logadj(p, prior, pp):
    return np.log(np.clip(p, 1e-12, 1)) - pp * np.log(prior)


res = {}
for f in S:
    prior = np.asarray(f["prior"])
    lo, lt = logadj(f["oob_proba"], prior, 0.5), logadj(f["test_proba"], prior, 0.5)
    yo, yt = f["oob_y"], f["test_y"]
    res.setdefault("base", []).append((met(yo, lo.argmax(1)), met(yt, lt.argmax(1))))
    if mode == "offsets":
        for shrink in (1.0, 0.5):
            for obj in ((0, 1, 1), (1, 1, 1)):
                # honest inner: cross-fit offsets over the OOB rows
                pred = np.zeros_like(yo)
                for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(lo, yo):
                    pred[te] = score(lo[te], fit_offsets(lo[tr], yo[tr], shrink=shrink, obj=obj))
                b = fit_offsets(lo, yo, shrink=shrink, obj=obj)
                res.setdefault(f"offsets shrink={shrink} obj={obj}", []).append(
                    (met(yo, pred), met(yt, score(lt, b)))
                )
for k, v in res.items():
    inner = np.mean([a for a, _ in v], 0)
    test = np.mean([b for _, b in v], 0)
    print(f"{k:40s} inner {inner.round(3)} test {test.round(3)}")

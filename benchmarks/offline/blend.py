"""Offline idea 2: blend the networks' probabilities with a HistGradientBoostingClassifier fitted on
each outer training part (inner: 3-fold cross-fitted on the training part) for weights w and prior
powers; `python benchmarks/offline/blend.py SEED` (XNET_DUMPS: capture.py's dumps). The adopted
form is `ensemble.trees` (xnet.models.trees) with the same tree settings.
"""

import os
import pickle
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

seed = int(sys.argv[1])
DUMPS = os.environ.get("XNET_DUMPS", "/tmp/sci")
S = pickle.load(open(f"{DUMPS}/s{seed}.pkl", "rb"))
D = pickle.load(open(f"{DUMPS}/s{seed}.pkl.data.pkl", "rb"))
X, Y = D["x"], D["y"]


def met(y, p):
    return np.array(
        [accuracy_score(y, p), balanced_accuracy_score(y, p), f1_score(y, p, average="macro")]
    )


def logadj(p, prior, pp):
    return np.log(np.clip(p, 1e-12, 1)) - pp * np.log(prior)


res = {}
t0 = time.time()
for f in S:
    prior = np.asarray(f["prior"])
    tr = f["train_rows"]

    def hgb():
        return HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.1,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            random_state=seed,
        )

    oobt_full = cross_val_predict(
        hgb(),
        X[tr],
        Y[tr],
        cv=StratifiedKFold(3, shuffle=True, random_state=seed),
        method="predict_proba",
    )
    pos = {r: i for i, r in enumerate(tr)}
    oobt = oobt_full[[pos[r] for r in f["oob_rows"]]]
    tt = hgb().fit(X[tr], Y[tr]).predict_proba(X[f["test_rows"]])
    yo, yt = f["oob_y"], f["test_y"]
    for w in (0.0, 0.3, 0.5, 0.7, 1.0):
        for pp in (0.5, 0.6):
            po = (1 - w) * f["oob_proba"] + w * oobt
            pt = (1 - w) * f["test_proba"] + w * tt
            res.setdefault(f"w={w} pp={pp}", []).append(
                (met(yo, logadj(po, prior, pp).argmax(1)), met(yt, logadj(pt, prior, pp).argmax(1)))
            )
print("time", time.time() - t0)
for k, v in res.items():
    inner = np.mean([a for a, _ in v], 0)
    test = np.mean([b for _, b in v], 0)
    print(f"{k:20s} inner {inner.round(3)} test {test.round(3)}")

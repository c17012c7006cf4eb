"""Offline analysis of decision ideas, step 1: run csc_best's networks and dump, per outer fold, the
ensemble's out-of-bag (inner) and test probabilities (networks only) for blend.py and offsets.py.

    XNET_DUMP=/tmp/sci/s1.pkl python benchmarks/offline/capture.py experiment=csc_best \
        ensemble.trees=0 cv.folds=5 seed=1 figures.enabled=false logger=none \
        hydra.run.dir=/tmp/sci/cap_s1
"""

import os
import pickle
import sys

import numpy as np

from xnet.evaluation import inner_validation
from xnet.train import main  # looks the report up on the module at call time: hook still seen

orig = inner_validation.out_of_bag_report
DUMP = os.environ["XNET_DUMP"]
store = []


def hooked(results, classes, trees=None):
    rows, oob_proba, oob_y = inner_validation.pooled_out_of_bag(results, len(classes))
    m = results[0].member
    data = m.job.data
    store.append(
        dict(
            fold=m.split.fold,
            oob_rows=np.array(rows),
            oob_proba=oob_proba,
            oob_y=oob_y,
            test_rows=np.asarray(m.split.test),
            test_proba=np.stack([r.proba["test"] for r in results]).mean(0),
            test_y=results[0].truth["test"],
            train_rows=np.concatenate([m.split.train, m.split.val]),
            prior=results[0].model.class_prior,
            classes=list(classes),
        )
    )
    if len(store) == 1:
        pickle.dump(
            dict(x=data.x, y=data.y, names=data.feature_names, classes=list(classes)),
            open(DUMP + ".data.pkl", "wb"),
        )
    pickle.dump(store, open(DUMP, "wb"))
    return orig(results, classes, trees)


inner_validation.out_of_bag_report = hooked

sys.argv = ["xnet.train"] + sys.argv[1:]
main()

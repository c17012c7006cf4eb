"""`XrayClassifier`: the checkpointed `Classifier` as a LightningModule, so that Lightning's own
`XrayClassifier.load_from_checkpoint(path, weights_only=True)` reads xnet checkpoints."""

from __future__ import annotations

import lightning as L

from xnet.models.classifier import Classifier


class XrayClassifier(Classifier, L.LightningModule):
    """Same weights, temperature and decision rule as `Classifier`, whose arguments it takes (by
    name); they are its plain-value hyperparameters."""

    def __init__(self, **hyper_parameters):
        super().__init__(**hyper_parameters)
        self.save_hyperparameters(hyper_parameters)

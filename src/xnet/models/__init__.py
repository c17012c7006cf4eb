"""Models: plain networks (`nets`, `encoders`), the checkpointed `Classifier` and its decision rule,
the stacked trainer `StackedClassifier`, per-member early stopping and the optimiser settings.

Lightning is imported only by `StackedClassifier` and `XrayClassifier` (loaded on first use), so
`from xnet.models import Classifier` is a torch-only import.
"""

from importlib import import_module

from xnet.models.classifier import Classifier, decide
from xnet.models.nets import MLP, StackedMLP

_LAZY = {
    "StackedClassifier": "xnet.models.stacked",
    "XrayClassifier": "xnet.models.classifier_module",
    "MemberEarlyStopping": "xnet.models.early_stopping",
}

__all__ = ["Classifier", "decide", "MLP", "StackedMLP", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xnet.models' has no attribute {name!r}")

"""Models: plain networks (`nets`, `encoders`), the checkpointed `Classifier` and its decision rule,
the stacked trainer `StackedClassifier`, per-member early stopping and the optimiser settings.

Lightning is imported only by `StackedClassifier` and `XrayClassifier` (loaded on first use), so
`from xnet.models import Classifier` is a torch-only import.
"""

from xnet.lazy import lazy_exports

from xnet.models.classifier import Classifier, decide
from xnet.models.nets import MLP, StackedMLP

_LAZY = {
    "StackedClassifier": "xnet.models.stacked",
    "XrayClassifier": "xnet.models.classifier_module",
    "MemberEarlyStopping": "xnet.models.early_stopping",
}

__all__ = ["Classifier", "decide", "MLP", "StackedMLP", *_LAZY]

__getattr__ = lazy_exports(__name__, _LAZY)

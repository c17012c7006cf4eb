"""Models: plain networks (`nets`, `encoders`), the checkpointed `Classifier` and its decision rule,
the stacked trainer `StackedClassifier`, per-member early stopping and the optimiser settings.

Lightning is imported only by `StackedClassifier` and `XrayClassifier` (loaded on first use), so
`from xnet.models import Classifier` is a torch-only import. Every name is loaded on first use, so
the torch-free modules (`decision`, `export`) are importable without torch.
"""

from xnet.lazy import lazy_exports

_LAZY = {
    "Classifier": "xnet.models.classifier",
    "decide": "xnet.models.decision",
    **dict.fromkeys(["MLP", "StackedMLP"], "xnet.models.nets"),
    "StackedClassifier": "xnet.models.stacked",
    "XrayClassifier": "xnet.models.classifier_module",
    "MemberEarlyStopping": "xnet.models.early_stopping",
}

__all__ = list(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)

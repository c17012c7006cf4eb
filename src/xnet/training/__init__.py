"""Training: data modules, stacking plan and fit, calibration, evaluation, checkpoints, the run's
report (metrics.json, TensorBoard, figures), metrics, sweep summary and the launcher's state.

`train` / `train_many` (in `run`) are the work behind `python -m xnet.train`. Lightning is
imported by the modules that train, not by this package.
"""

from xnet.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__, {"train": "xnet.training.run", "train_many": "xnet.training.run"}
)

__all__ = ["train", "train_many"]

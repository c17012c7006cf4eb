"""The `trainer` config map is closed: its keys are `lightning.Trainer`'s arguments.

Checked without importing Lightning (4 s), so that a misspelt flag is one line at once, from the
command line (`xnet.config.schema.check_override_keys`) and in the composed config
(`xnet.config.schema.validate_config`). Which flags an engine honours: `xnet.training.engine`.
"""

from __future__ import annotations

import difflib

from xnet.errors import XnetError

#: `lightning.Trainer`'s arguments (Lightning 2.6; a test compares them with the installed one)
TRAINER_ARGS = (
    "accelerator", "strategy", "devices", "num_nodes", "precision", "logger", "callbacks",
    "fast_dev_run", "max_epochs", "min_epochs", "max_steps", "min_steps", "max_time",
    "limit_train_batches", "limit_val_batches", "limit_test_batches", "limit_predict_batches",
    "overfit_batches", "val_check_interval", "check_val_every_n_epoch", "num_sanity_val_steps",
    "log_every_n_steps", "enable_checkpointing", "enable_progress_bar", "enable_model_summary",
    "accumulate_grad_batches", "gradient_clip_val", "gradient_clip_algorithm", "deterministic",
    "benchmark", "inference_mode", "use_distributed_sampler", "profiler", "detect_anomaly",
    "barebones", "plugins", "sync_batchnorm", "reload_dataloaders_every_n_epochs",
    "default_root_dir", "enable_autolog_hparams", "model_registry",
)  # fmt: skip


def check_trainer_flag(flag: str) -> None:
    """`trainer.<flag>` must be a `lightning.Trainer` argument (a typo would do nothing)."""
    if flag == "_target_" or flag in TRAINER_ARGS:
        return
    close = difflib.get_close_matches(flag, TRAINER_ARGS, n=1, cutoff=0.6)
    hint = f"did you mean trainer.{close[0]}?" if close else "see docs/lightning.md"
    raise XnetError(f"trainer.{flag}: not an argument of lightning.Trainer; {hint}")


def check_trainer_override(prefix: str, key: str, keys: set[str]) -> None:
    """`trainer.<flag>=...`: a Trainer argument; one that conf/trainer does not set needs `+`
    (Hydra's own refusal spans a screen)."""
    check_trainer_flag(key.split(".")[1])
    if not prefix and key not in keys:
        raise XnetError(f"{key}: not set in conf/trainer; add it with +{key}=<value>")

"""Which engine trains a run, and what each one honours: Trainer flags, loggers, callbacks.

- `stacked`: xnet's fast path for the MLP family (conf/model/mlp.yaml). The folds, ensemble
  networks and sweep jobs train together as one `StackedClassifier`, one Lightning step per epoch
  (`xnet.training.stacking`).
- `plain`: Lightning's own loop, one network at a time (`xnet.training.plain`): real DataLoaders,
  `validation_step`, Lightning's `EarlyStopping` and `ModelCheckpoint`, the run's loggers and
  callbacks, every Trainer flag. It trains any LightningModule named by `model._target_`, and the
  MLP family too with `engine=plain`.

`engine: auto` (conf/train.yaml) is `plain` when the config names a model class (`model._target_`),
else `stacked`. Everything here reads the composed config only (no torch, no Lightning), so that a
refused setting is one line before any work starts (`check_engine`, from
`xnet.training.run.check_config`).
"""

from __future__ import annotations

import importlib.util
from functools import cache

from omegaconf import DictConfig, OmegaConf

from xnet.config.compose import CONFIG_DIR
from xnet.config.trainer_args import check_trainer_flag
from xnet.errors import XnetError

#: Trainer flags the stacked engine honours, at any value (`devices` only as one device)
STACKED_FLAGS = (
    "max_epochs",
    "accelerator",
    "devices",
    "deterministic",
    "max_time",
    "enable_progress_bar",
    "enable_model_summary",
)
#: Trainer arguments xnet sets itself on both engines, and where their setting lives instead
RESERVED = {
    "logger": "the logger group (logger=tensorboard|csv|mlflow|none, docs/lightning.md)",
    "callbacks": "the callbacks group (+callbacks.<name>._target_=..., docs/lightning.md)",
    "enable_checkpointing": "early_stopping.* (the best weights are always kept)",
}
#: Lightning loggers that need a package Lightning does not install
LOGGER_PACKAGES = {
    "MLFlowLogger": "mlflow",
    "WandbLogger": "wandb",
    "CometLogger": "comet_ml",
    "NeptuneLogger": "neptune",
}


def model_target(cfg: DictConfig) -> str | None:
    """The model class a config names (`model._target_`), or None for xnet's MLP family."""
    target = OmegaConf.select(cfg, "model._target_", default=None)
    return str(target) if target else None


def engine_of(cfg: DictConfig) -> str:
    """`stacked` or `plain`: the `engine` key, where `auto` (the default) means plain exactly when
    the config names a model class."""
    engine = str(cfg.engine)
    if engine == "auto":
        return "plain" if model_target(cfg) else "stacked"
    return engine


def check_engine(cfg: DictConfig) -> None:
    """One line for a setting the chosen engine would not honour."""
    engine = engine_of(cfg)
    target = model_target(cfg)
    if engine == "stacked" and target:
        raise XnetError(
            f"engine=stacked trains xnet's MLP family only; model._target_={target} "
            "trains with engine=plain (or engine=auto)"
        )
    if target and importlib.util.find_spec(target.split(".")[0]) is None:
        raise XnetError(
            f"model._target_={target}: no module named {target.split('.')[0]!r}; install the "
            "package that defines it or put its folder on PYTHONPATH"
        )
    check_trainer(cfg, engine)
    for group in ("logger.loggers", "callbacks"):
        entries = _entries(cfg, group)
        check_targets(group, entries)
        if engine == "stacked" and entries:
            raise XnetError(
                f"{group}.{next(iter(entries))}: the stacked engine writes TensorBoard only and "
                "runs no Lightning callbacks; use engine=plain for Lightning loggers and callbacks"
            )


def check_trainer(cfg: DictConfig, engine: str) -> None:
    """Trainer flags: reserved ones are refused on both engines; the plain engine passes the rest
    to `lightning.Trainer`; the stacked one honours `STACKED_FLAGS` and refuses any other flag
    that differs from conf/trainer/default.yaml."""
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    for key in trainer:
        check_trainer_flag(key)  # a lightning.Trainer argument at all
    for key in RESERVED:
        if key in trainer:
            raise XnetError(f"trainer.{key}: set by xnet; use {RESERVED[key]}")
    if engine == "plain":
        return
    devices = trainer.get("devices", 1)
    if devices not in (1, "1"):
        raise XnetError(
            f"trainer.devices={devices}: the stacked engine trains on one device; "
            "use engine=plain for Lightning's multi-device strategies"
        )
    defaults = trainer_defaults()
    for key, value in trainer.items():
        if key == "_target_" or key in STACKED_FLAGS:
            continue
        if key in defaults and defaults[key] == value:
            continue
        supported = ", ".join(STACKED_FLAGS)
        raise XnetError(
            f"trainer.{key}={value}: the stacked engine supports trainer.{{{supported}}}; "
            f"use engine=plain (or model._target_=...) for trainer.{key}"
        )


@cache
def trainer_defaults() -> dict:
    """conf/trainer/default.yaml: the values every flag has unless a user sets it."""
    return OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "trainer" / "default.yaml"))


def _entries(cfg: DictConfig, key: str) -> dict:
    """The named entries of a logger/callback map (entries set to null are switched off)."""
    node = OmegaConf.select(cfg, key, default=None)
    if not node:
        return {}
    plain = OmegaConf.to_container(node, resolve=False)
    return {name: value for name, value in plain.items() if value is not None}


def check_targets(group: str, entries: dict) -> None:
    """Each entry names a class by `_target_`; a logger whose package is missing is refused."""
    for name, entry in entries.items():
        target = entry.get("_target_") if isinstance(entry, dict) else None
        if not target:
            raise XnetError(
                f"{group}.{name}: needs a _target_ (a Lightning class, e.g. "
                f"+{group}.{name}._target_=lightning.pytorch.loggers.CSVLogger)"
            )
        package = LOGGER_PACKAGES.get(str(target).rsplit(".", 1)[-1])
        if package and importlib.util.find_spec(package) is None:
            raise XnetError(
                f"{group}.{name}: {target} needs the {package} package, which is not installed "
                f"(pip install {package}); use logger=tensorboard or logger=csv"
            )

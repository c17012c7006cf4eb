"""`python -m xnet.train`: train and evaluate on a labelled catalog (one split or K folds).

Writes into the Hydra run directory: metrics.json, checkpoints/, tensorboard/ and .hydra/.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from xnet.config import CONFIG_DIR
from xnet.datamodule import XrayDataModule
from xnet.dataset import LabelledSet, Split, make_splits, prepare_labelled_set
from xnet.errors import XnetError
from xnet.metrics import HEADLINE, classification_report, summarize_folds
from xnet.module import XrayClassifier

log = logging.getLogger(__name__)


def quiet_lightning() -> None:
    """Lightning's start-up chatter (GPU available, model summary, ...) is noise for a CPU MLP."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*treespec.*")
    warnings.filterwarnings("ignore", message=".*exists and is not empty.*")


def write_json(path: Path, payload: dict) -> None:
    """Write atomically: a temporary file in the same folder, renamed at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def class_weights(counts: np.ndarray) -> list[float]:
    """Inverse-frequency weights normalised to mean 1 (scikit-learn's 'balanced')."""
    counts = np.maximum(counts.astype(float), 1.0)
    return (counts.sum() / (len(counts) * counts)).tolist()


def build_model(cfg: DictConfig, dm: XrayDataModule) -> XrayClassifier:
    m = cfg.model
    return XrayClassifier(
        n_features=dm.n_features,
        class_names=dm.classes,
        hidden=int(m.hidden),
        depth=int(m.depth),
        dropout=float(m.dropout),
        lr=float(m.lr),
        beta1=float(m.beta1),
        beta2=float(m.beta2),
        eps=float(m.eps),
        l2_alpha=float(m.l2_alpha),
        batch_size=int(m.batch_size),
        class_weights=class_weights(dm.class_counts()) if m.class_weighted else None,
    )


def fit_split(cfg: DictConfig, data: LabelledSet, split: Split, run_dir: Path, n_splits: int) -> dict:
    """Train one split with early stopping, reload the best checkpoint, evaluate it."""
    L.seed_everything(int(cfg.seed), workers=False, verbose=False)
    tag = f"fold_{split.fold}" if n_splits > 1 else "holdout"
    dm = XrayDataModule(data, split, cfg.resample, batch_size=int(cfg.model.batch_size), seed=int(cfg.seed))
    dm.setup("fit")
    model = build_model(cfg, dm)
    es = cfg.early_stopping
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename=f"{tag}-best",
        monitor=es.monitor,
        mode=es.mode,
        save_top_k=1,
        save_last=False,
        enable_version_counter=False,
    )
    callbacks = [checkpoint, EarlyStopping(monitor=es.monitor, mode=es.mode, patience=int(es.patience))]
    logger = False
    if cfg.logger.get("name"):
        logger = TensorBoardLogger(save_dir=str(run_dir), name=str(cfg.logger.name), version=tag, default_hp_metric=False)
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=logger)
    trainer.fit(model, datamodule=dm)
    val = trainer.validate(model, datamodule=dm, ckpt_path="best", verbose=False)[0]
    trainer.test(model, datamodule=dm, ckpt_path="best", verbose=False)
    proba = model.predict_proba(dm.x_test).numpy()
    report = classification_report(dm.y_test.numpy(), proba.argmax(axis=1), data.classes)
    block = {
        "fold": split.fold,
        "n_train": int(len(split.train)),
        "n_train_resampled": int(len(dm.y_train)),
        "n_val": int(len(split.val)),
        "n_test": int(len(split.test)),
        "epochs": int(trainer.current_epoch),
        "checkpoint": str(Path(checkpoint.best_model_path).relative_to(run_dir)),
        "val": {k: float(val[f"val/{k}"]) for k in HEADLINE},
        **report,
    }
    if logger:
        hparams = {
            "data": data.catalog.name,
            "features": data.spec.name,
            "resample": str(cfg.resample.name),
            **{f"model/{k}": v for k, v in OmegaConf.to_container(cfg.model).items()},
        }
        logger.log_hyperparams(hparams, {f"hp/test_{k}": block[k] for k in HEADLINE})
        logger.finalize("success")
    log.info(
        "%s: %d epochs, test accuracy %.3f, balanced accuracy %.3f, macro-F1 %.3f",
        tag, block["epochs"], block["accuracy"], block["balanced_accuracy"], block["macro_f1"],
    )
    return {"block": block, "y_true": dm.y_test.numpy(), "y_pred": proba.argmax(axis=1)}


def train(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Run the configured training; returns (and writes) the metrics.json payload."""
    quiet_lightning()
    run_dir = Path(run_dir)
    torch.set_num_threads(int(cfg.model.num_threads))
    data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
    folds = int(cfg.cv.folds or 0)
    if folds == 1 or folds < 0:
        raise XnetError(f"cv.folds={folds}: use 0 for one train/test split or K >= 2 for K-fold CV")
    splits = list(make_splits(data.y, cfg.split, folds, int(cfg.seed)))
    log.info(
        "%s: %d sources, %d classes (%s), %d features (%s)",
        data.catalog.name, len(data.y), len(data.classes), ", ".join(data.classes),
        len(data.feature_names), data.spec.name,
    )
    results = [fit_split(cfg, data, s, run_dir, len(splits)) for s in splits]
    blocks = [r["block"] for r in results]
    header = {
        "dataset": data.catalog.name,
        "catalog_path": str(data.catalog.path),
        "features": data.spec.name,
        "feature_names": data.feature_names,
        "resample": str(cfg.resample.name),
        "classes": data.classes,
        "class_counts": {c: int(n) for c, n in zip(data.classes, np.bincount(data.y, minlength=len(data.classes)))},
    }
    if len(blocks) == 1:
        payload = {**header, **blocks[0]}
    else:
        pooled = classification_report(
            np.concatenate([r["y_true"] for r in results]), np.concatenate([r["y_pred"] for r in results]), data.classes
        )
        mean, std = summarize_folds(blocks)
        payload = {
            **header,
            "cv_folds": len(blocks),
            "n_train": int(round(np.mean([b["n_train"] for b in blocks]))),
            "n_test": int(sum(b["n_test"] for b in blocks)),
            "pooled_out_of_fold": True,
            **pooled,
            "mean": mean,
            "std": std,
            "val_mean": {k: float(np.mean([b["val"][k] for b in blocks])) for k in HEADLINE},
            "folds": blocks,
        }
        log.info(
            "%d-fold CV: balanced accuracy %.3f ± %.3f, accuracy %.3f ± %.3f, macro-F1 %.3f ± %.3f",
            len(blocks), mean["balanced_accuracy"], std["balanced_accuracy"], mean["accuracy"], std["accuracy"],
            mean["macro_f1"], std["macro_f1"],
        )
    write_json(run_dir / "metrics.json", payload)
    return payload


def optimized_value(payload: dict, name: str) -> float:
    """The metric Hydra sweepers optimise: the CV mean where there are folds, else the test value."""
    source = payload.get("mean", payload)
    if name not in source:
        raise XnetError(f"optimized_metric={name!r} is not one of {', '.join(HEADLINE)}")
    return float(source[name])


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float:
    if cfg.optimized_metric not in HEADLINE:
        raise XnetError(f"optimized_metric={cfg.optimized_metric!r} is not one of {', '.join(HEADLINE)}")
    payload = train(cfg, HydraConfig.get().runtime.output_dir)
    return optimized_value(payload, str(cfg.optimized_metric))


def check_group_choices(argv: list[str], config_dir: Path = CONFIG_DIR) -> None:
    """A one-line error for `group=value` naming a config that does not exist (Hydra's own message
    spans a screen). Looks in conf/ and any --config-dir/-cd; other mistakes are left to Hydra."""
    dirs = [config_dir]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]))
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.split("=", 1)[1]))
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or "." in key or "/" in key or key.startswith("-") or not value or value == "null":
            continue
        groups = [d / key for d in dirs if (d / key).is_dir()]
        if not groups:
            continue
        for choice in value.split(","):
            if not any((g / f"{choice}.yaml").exists() for g in groups):
                options = sorted({p.stem for g in groups for p in g.glob("*.yaml")})
                raise XnetError(f"{key}={choice}: no such {key} config; available: {', '.join(options)}")


def main() -> None:
    import sys

    from xnet.errors import exit_on_error

    exit_on_error(lambda: check_group_choices(sys.argv[1:]))
    _hydra_main()


if __name__ == "__main__":
    main()

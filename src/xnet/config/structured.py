"""The types of xnet's configs: Hydra structured configs (dataclasses in Hydra's ConfigStore) that
conf/train.yaml, conf/model/mlp.yaml and conf/predict.yaml name first in their defaults lists, so
that Hydra merges the YAML onto them. A key the schema does not know, or a value of the wrong type,
then fails at composition, before any work; `xnet.config.schema` turns that into one line.

The YAML files keep every value a user reads and changes; a default here is only what a key takes
when a config file of one's own (`--config-dir`) leaves it out. The fields come in the order the
YAML composes them, and name exactly the keys the YAML sets, so that the composed config (and
.hydra/config.yaml) is what it was. The ranges of the numbers are `xnet.config.rules.RULES`.

Open maps (their entries are a user's own): `data` (a catalog's columns, filters, light curves;
checked by `xnet.data`), `trainer` (closed by `xnet.config.trainer_args`), `resample` (its keys
depend on the method), `model` beyond mlp.yaml (a plugged LightningModule takes keys of its own),
`model.encoders`, `logger.loggers` and `callbacks`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any  # noqa: UP035 (OmegaConf reads typing's names)

from hydra.core.config_store import ConfigStore

#: ConfigStore names, in the defaults lists of conf/train.yaml and conf/model/mlp.yaml
TRAIN_SCHEMA = "xnet_train_schema"
MLP_SCHEMA = "xnet_mlp_schema"
PREDICT_SCHEMA = "xnet_predict_schema"


@dataclass
class ExtremeValues:
    action: str = "warn"
    max_abs: float = 1.0e10


@dataclass
class Split:
    test_size: float = 0.2
    val_size: float = 0.1
    min_class_count: int = 10


@dataclass
class CrossValidation:
    folds: int = 0
    scheme: str = "stratified"
    faint_fraction: float = 0.2
    sky_cell_deg: Any = (
        30  # a number of degrees (float or int as written: the run's config keeps it)
    )


@dataclass
class Ensemble:
    members: int = 1
    trees: float = 0.0


@dataclass
class Decision:
    prior_power: float = 0.0


@dataclass
class Calibration:
    enabled: bool = True
    min_gain_se: float = 2.0
    n_bins: int = 15


@dataclass
class Coverage:
    confidence: str = "decision"


@dataclass
class Importance:
    enabled: bool = True


@dataclass
class Figures:
    enabled: bool = True
    cache: bool = True


@dataclass
class Batching:
    enabled: bool = True
    log_every_n_epochs: int = 1
    max_width_ratio: float = 1.5
    retire: bool = True


@dataclass
class Report:
    min_support: int = 10
    min_sources: int = 200


@dataclass
class Features:
    name: str = "features"
    features: list[str] = field(default_factory=list)
    missing_indicators: list[str] = field(default_factory=list)
    drop_missing: bool = False


@dataclass
class EarlyStopping:
    monitor: str = "val/loss"
    mode: str = "min"
    patience: int = 60
    min_delta: float = 0.0


@dataclass
class Logger:
    name: str | None = "tensorboard"
    loggers: dict[str, Any] = field(default_factory=dict)


@dataclass
class MLP:
    """conf/model/mlp.yaml: the study's network and optimiser."""

    _target_: str | None = None
    hidden: int = 30
    depth: int = 2
    dropout: float = 0.0
    lr: float = 0.01
    beta1: float = 0.15
    beta2: float = 0.99
    eps: float = 1.0e-10
    l2_alpha: float = 1.0e-4
    batch_size: int = 200
    class_weighted: bool = False
    num_threads: Any = "auto"  # an integer >= 1 or `auto`
    encoders: dict[str, Any] = field(default_factory=dict)


@dataclass
class Train:
    """conf/train.yaml and the groups it composes."""

    task_name: str = "train"
    seed: int = 1
    engine: str = "auto"
    overwrite: bool = False
    progress: Any = "auto"  # true, false or auto
    data: dict[str, Any] = field(default_factory=lambda: {"extreme_values": ExtremeValues()})
    split: Split = field(default_factory=Split)
    cv: CrossValidation = field(default_factory=CrossValidation)
    ensemble: Ensemble = field(default_factory=Ensemble)
    decision: Decision = field(default_factory=Decision)
    calibration: Calibration = field(default_factory=Calibration)
    coverage: Coverage = field(default_factory=Coverage)
    importance: Importance = field(default_factory=Importance)
    figures: Figures = field(default_factory=Figures)
    optimized_metric: str = "balanced_accuracy"
    batching: Batching = field(default_factory=Batching)
    report: Report = field(default_factory=Report)
    features: Features = field(default_factory=Features)
    model: Any = None  # conf/model/mlp.yaml names `MLP`; a model of one's own is free
    trainer: dict[str, Any] = field(default_factory=dict)
    resample: dict[str, Any] = field(default_factory=dict)
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    logger: Logger = field(default_factory=Logger)
    callbacks: dict[str, Any] = field(default_factory=dict)


@dataclass
class PredictLightcurves:
    format: str | None = None
    path: str | None = None
    pattern: str | None = None
    band: Any = None  # a band number or name
    id_from: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    dt: Any = None  # seconds
    duplicates: str | None = None
    unmatched: str | None = None


@dataclass
class PredictReport:
    min_support: int = 10


@dataclass
class Flags:
    """Numbers or null, kept as written (`xnet.predict.flags`; ranges in `RULES`)."""

    missing_below: Any = 0.01
    range_margin: Any = 0.1
    max_sum_flag: Any = 1
    max_extent: Any = 0.0


@dataclass
class Predict:
    """conf/predict.yaml."""

    run: str | None = None
    input: str | None = None
    output: str | None = None
    catalog: str | None = None
    overwrite: bool = False
    chunk_size: int = 100_000
    batch_size: int = 8192
    num_threads: int = 1
    workers: Any = "auto"  # an integer >= 1 or `auto`
    progress: Any = "auto"  # true, false or auto
    explain: int = 0
    lightcurves: PredictLightcurves = field(default_factory=PredictLightcurves)
    report: PredictReport = field(default_factory=PredictReport)
    flags: Flags = field(default_factory=Flags)


SCHEMAS = {"train": Train, "predict": Predict}


def schema(config_name: str) -> type | None:
    """The structured config of an entry config (`train`, `predict`)."""
    return SCHEMAS.get(config_name)


def typed_node(config_name: str, choices: dict[str, str]):
    """An OmegaConf node of the entry config's schema, with the schema of each chosen group option
    that has one (`choices`: group -> option given on the command line; the defaults otherwise);
    None for an entry config without a schema."""
    from omegaconf import OmegaConf

    cls = schema(config_name)
    if cls is None:
        return None
    node = OmegaConf.structured(cls)
    if config_name == "train" and choices.get("model", "mlp") == "mlp":
        node.model = OmegaConf.structured(MLP)
    return node


#: the config groups of conf/train.yaml: `group=option` chooses a file, it sets no value
GROUPS = (
    "data",
    "features",
    "model",
    "trainer",
    "resample",
    "early_stopping",
    "logger",
    "callbacks",
)


def is_typed(cls: type, key: str) -> bool:
    """Whether the dotted `key` is a field of `cls` reached through typed nodes only (not inside
    an open map, where any entry may be written, nor a config group's choice)."""
    parts = key.split(".")
    if len(parts) == 1 and cls is Train and key in GROUPS:
        return False
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            return False
        if i == len(parts) - 1:
            return True
        hint = typing.get_type_hints(cls)[part]
        if dataclasses.is_dataclass(hint):
            cls = hint
        elif part == "model" and cls is Train:
            cls = MLP
        else:
            return False
    return False


def register() -> None:
    """Put the schemas into Hydra's ConfigStore (again is harmless: the same nodes)."""
    store = ConfigStore.instance()
    store.store(name=TRAIN_SCHEMA, node=Train)
    store.store(name=MLP_SCHEMA, node=MLP)
    store.store(name=PREDICT_SCHEMA, node=Predict)


register()

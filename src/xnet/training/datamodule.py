"""LightningDataModules: one split's tensors (scaler and resampling fit on its training rows only),
and several splits stacked for the stacked trainer.

Inputs are named: `features` (the scaled catalog vector) and any extra per-row arrays the labelled
set carries (`LabelledSet.inputs`, e.g. a binned light curve), selected by the same row indices.
"""

from __future__ import annotations

from collections.abc import Mapping

import lightning as L
import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, SequentialSampler

from xnet.data.catalog import SOURCE_ID
from xnet.data.ids import id_strings
from xnet.data.labelled import LabelledSet
from xnet.data.prepare import fit_split
from xnet.data.preprocessing import scaler_from_state, scaler_state, transform
from xnet.data.splits import Split
from xnet.models.nets import FEATURES


class NamedRows(Dataset):
    """Rows of named input tensors and their labels, fetched a batch at a time: indexed by a list
    of rows, it gives ({name: tensor[rows]}, labels[rows]) (a DataLoader with `batch_size=None`
    over a `BatchSampler`: one gather per batch instead of one collate per row)."""

    def __init__(self, inputs: Mapping[str, torch.Tensor], y: torch.Tensor):
        self.inputs, self.y = dict(inputs), y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, rows: torch.Tensor):
        return {name: x[rows] for name, x in self.inputs.items()}, self.y[rows]


class ShuffledBatches(Sampler):
    """Row batches of one permutation per epoch, drawn from a seeded generator exactly as the
    stacked engine draws each member's epoch order (`StackedDataModule.epoch_order`), so that a
    member sees the same batches on either engine (torch's RandomSampler draws an extra
    permutation per epoch)."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator)
        return iter(order.split(self.batch_size))


class XrayDataModule(L.LightningDataModule):
    """Train / validation / test tensors for one split of a LabelledSet; its state (classes,
    features, fitted scaler) is what a checkpoint carries for prediction. The stacked engine takes
    its training batches from `StackedDataModule`, which stacks one or more of these; the plain
    engine (`xnet.training.plain`) from its DataLoaders: `batch_size` rows, shuffled each epoch
    by a generator seeded with `seed` (`ShuffledBatches`)."""

    #: rows per training batch of the DataLoaders (the plain engine sets `model.batch_size`)
    batch_size: int = 200
    #: rows per batch when validating and testing (order kept)
    eval_batch_size: int = 8192

    def __init__(self, data: LabelledSet, split: Split, resample: Mapping, seed: int = 1):
        super().__init__()
        self.data, self.split = data, split
        self.resample = dict(resample)
        self.seed = int(seed)
        self.scaler = None

    @property
    def classes(self) -> list[str]:
        return self.data.classes

    @property
    def n_features(self) -> int:
        return self.data.x.shape[1]

    def setup(self, stage: str | None = None) -> None:
        if self.scaler is not None:
            return
        s = self.split
        if self.data.inputs:  # a resampled row carries its source row's extra inputs (parents)
            self.scaler, x_train, y_train, parents = fit_split(
                self.data, s, self.resample, self.seed, with_parents=True
            )
        else:
            self.scaler, x_train, y_train = fit_split(self.data, s, self.resample, self.seed)
            parents = s.train
        self.train_inputs = {**self.extra_inputs(parents), FEATURES: torch.as_tensor(x_train)}
        self.y_train = torch.as_tensor(y_train, dtype=torch.long)
        self.val_inputs, self.y_val = self.inputs(s.val), self.labels(s.val)
        self.test_inputs, self.y_test = self.inputs(s.test), self.labels(s.test)
        self.x_train, self.x_val, self.x_test = (
            d[FEATURES] for d in (self.train_inputs, self.val_inputs, self.test_inputs)
        )

    def inputs(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        """The named inputs of these rows of the labelled set: scaled features and any extra
        arrays."""
        features = torch.as_tensor(transform(self.scaler, self.data.x[rows]))
        return {FEATURES: features, **self.extra_inputs(rows)}

    def extra_inputs(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        """The extra arrays (a binned light curve, ...) of these rows of the labelled set."""
        return {
            name: torch.as_tensor(np.asarray(a[rows], dtype=np.float32))
            for name, a in self.data.inputs.items()
        }

    def labels(self, rows: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(self.data.y[rows], dtype=torch.long)

    def class_counts(self) -> np.ndarray:
        """Training-part class counts before resampling (for class-weighted loss)."""
        return np.bincount(self.data.y[self.split.train], minlength=len(self.classes))

    def state_dict(self) -> dict:
        """What prediction needs, as plain values: classes, features, the fitted scaler and, per
        feature column, the training rows' missing share and range (`xnet.predict`'s flags)."""
        import warnings

        x = self.data.x[self.split.train]
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", RuntimeWarning
            )  # a column missing on every training row
            low, high = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
        return {
            "classes": list(self.classes),
            "feature_names": list(self.data.feature_names),
            "features": list(self.data.spec.features),
            "missing_indicators": list(self.data.spec.indicators),
            "feature_set": self.data.spec.name,
            "catalog": self.data.catalog.name,
            "scaler": scaler_state(self.scaler),
            "train_missing_fraction": np.isnan(x).mean(axis=0).tolist(),
            "train_min": low.tolist(),
            "train_max": high.tolist(),
            **self.row_ids(),
            **({"lightcurves": self.data.lightcurves} if self.data.lightcurves else {}),
        }

    def row_ids(self) -> dict:
        """The catalog ids of the rows this network was trained and validated on, as plain lists of
        strings (`xnet.predict`'s `in_training`; ~10k short strings for the full Lin et al. catalog,
        so lists rather than a hash set); none when the catalog config names no `id` column."""
        if SOURCE_ID not in self.data.frame.columns:
            return {}
        ids = self.data.frame[SOURCE_ID].to_numpy(dtype=object)
        return {
            "train_ids": id_strings(ids[self.split.train]),
            "val_ids": id_strings(ids[self.split.val]),
        }

    def load_state_dict(self, state: dict) -> None:
        self.scaler = scaler_from_state(state["scaler"])

    def train_dataloader(self) -> DataLoader:
        n = len(self.y_train)
        batches = ShuffledBatches(n, max(1, min(self.batch_size, n)), self.seed)
        return DataLoader(
            NamedRows(self.train_inputs, self.y_train), sampler=batches, batch_size=None
        )

    def val_dataloader(self) -> DataLoader:
        return self._in_order(self.val_inputs, self.y_val)

    def test_dataloader(self) -> DataLoader:
        return self._in_order(self.test_inputs, self.y_test)

    def _in_order(self, inputs: Mapping[str, torch.Tensor], y: torch.Tensor) -> DataLoader:
        rows = BatchSampler(SequentialSampler(range(len(y))), self.eval_batch_size, drop_last=False)
        return DataLoader(NamedRows(inputs, y), sampler=rows, batch_size=None)


class EpochTicks:
    """A 'dataloader' with one item per epoch: `StackedClassifier` runs a whole epoch of index
    batches inside one Lightning step."""

    def __len__(self) -> int:
        return 1

    def __iter__(self):
        yield torch.zeros(())


def _pad_stack(tensors: list[torch.Tensor], length: int) -> torch.Tensor:
    out = torch.zeros((len(tensors), length, *tensors[0].shape[1:]), dtype=tensors[0].dtype)
    for k, t in enumerate(tensors):
        out[k, : len(t)] = t
    return out


class StackedDataModule(L.LightningDataModule):
    """The (resampled, scaled) training and validation tensors of several members, each prepared
    by its own `XrayDataModule`, padded to common lengths with validity masks."""

    def __init__(
        self, members: list[XrayDataModule], batch_size: int = 200, seeds: list[int] | None = None
    ):
        super().__init__()
        self.members = members
        self.requested_batch = int(batch_size)
        self.seeds = [int(s) for s in (seeds or [m.seed for m in members])]

    def setup(self, stage: str | None = None) -> None:
        if hasattr(self, "train_inputs"):
            return
        for m in self.members:
            m.setup(stage)
        n_classes = len(self.members[0].classes)
        self.n_train = torch.tensor([len(m.y_train) for m in self.members])
        n_max = int(self.n_train.max())
        # scikit-learn's batch: min(200, n)
        self.batch_size = max(1, min(self.requested_batch, n_max))
        self.train_inputs = {
            name: _pad_stack([m.train_inputs[name] for m in self.members], n_max)
            for name in self.members[0].train_inputs
        }
        self.y_train = _pad_stack([m.y_train for m in self.members], n_max)
        v_max = max(len(m.y_val) for m in self.members)
        self.val_inputs = {
            name: _pad_stack([m.val_inputs[name] for m in self.members], v_max)
            for name in self.members[0].val_inputs
        }
        self.y_val = _pad_stack([m.y_val for m in self.members], v_max)
        self.val_mask = _pad_stack(
            [torch.ones(len(m.y_val), dtype=torch.bool) for m in self.members], v_max
        )
        self.train_support = torch.stack(
            [torch.bincount(m.y_train, minlength=n_classes) for m in self.members]
        )
        self.class_counts = torch.stack([torch.as_tensor(m.class_counts()) for m in self.members])
        self.generators = [torch.Generator().manual_seed(s) for s in self.seeds]
        self.steps = (n_max + self.batch_size - 1) // self.batch_size

    def to(self, device: torch.device) -> StackedDataModule:
        """Move the stacked tensors to the training device (a GPU with `trainer=gpu`)."""
        for name in ("y_train", "y_val", "val_mask", "n_train", "train_support", "class_counts"):
            setattr(self, name, getattr(self, name).to(device))
        for name in ("train_inputs", "val_inputs"):
            setattr(self, name, {key: x.to(device) for key, x in getattr(self, name).items()})
        return self

    def retain(self, positions: torch.Tensor) -> None:
        """Keep only the members at these positions of the current stack (members that stopped
        early leave it: `xnet.models.compaction.retire`); each keeps its own epoch-order generator,
        and the padded lengths, so the batches per epoch, stay as they were."""
        on_device = positions.to(self.y_train.device)
        for name in ("y_train", "y_val", "val_mask", "n_train", "train_support", "class_counts"):
            setattr(self, name, getattr(self, name).index_select(0, on_device))
        for name in ("train_inputs", "val_inputs"):
            setattr(
                self,
                name,
                {key: x.index_select(0, on_device) for key, x in getattr(self, name).items()},
            )
        self.generators = [self.generators[k] for k in positions.tolist()]

    def epoch_order(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's own shuffled row order for this epoch (members, steps * batch), and which
        entries are real rows (a member with fewer rows has a shorter last batch, or none)."""
        width = self.steps * self.batch_size
        order = torch.zeros((len(self.generators), width), dtype=torch.long)
        n_train = self.n_train.cpu()
        for k, (n, gen) in enumerate(zip(n_train.tolist(), self.generators)):
            order[k, :n] = torch.randperm(n, generator=gen)
        valid = torch.arange(width)[None, :] < n_train[:, None]
        device = self.y_train.device
        return order.to(device), valid.to(device)

    def train_dataloader(self):
        return EpochTicks()

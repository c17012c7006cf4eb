"""LightningDataModule for one split: scaler and resampling fit on its training rows only."""

from __future__ import annotations

from typing import Iterator, Mapping

import lightning as L
import numpy as np
import torch

from xnet.dataset import LabelledSet, Split
from xnet.preprocessing import fit_scaler, resample_training_set, scaler_from_state, scaler_state, transform


class IndexBatches:
    """Mini-batches cut from in-memory tensors by index (no DataLoader, no collate: the network is
    tiny and per-batch Python overhead would dominate)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool, seed: int = 0):
        self.x, self.y = x, y
        self.batch_size = max(1, min(int(batch_size), len(y)))
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return (len(self.y) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        if not self.shuffle:
            for start in range(0, n, self.batch_size):
                yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]
            return
        order = torch.randperm(n, generator=self.generator)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.x[idx], self.y[idx]


class XrayDataModule(L.LightningDataModule):
    """Train / validation / test tensors for one split of a LabelledSet."""

    def __init__(self, data: LabelledSet, split: Split, resample: Mapping, batch_size: int = 200, seed: int = 1):
        super().__init__()
        self.data, self.split = data, split
        self.resample = dict(resample)
        self.batch_size, self.seed = int(batch_size), int(seed)
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
        x, y, s = self.data.x, self.data.y, self.split
        self.scaler = fit_scaler(x[s.train])
        x_train, y_train = resample_training_set(
            transform(self.scaler, x[s.train]), y[s.train], self.classes, self.resample, self.seed
        )
        self.x_train, self.y_train = torch.as_tensor(x_train), torch.as_tensor(y_train, dtype=torch.long)
        self.x_val, self.y_val = self._tensors(s.val)
        self.x_test, self.y_test = self._tensors(s.test)

    def _tensors(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = transform(self.scaler, self.data.x[rows])
        return torch.as_tensor(x), torch.as_tensor(self.data.y[rows], dtype=torch.long)

    def class_counts(self) -> np.ndarray:
        """Training-part class counts before resampling (for class-weighted loss)."""
        return np.bincount(self.data.y[self.split.train], minlength=len(self.classes))

    def train_dataloader(self):
        return IndexBatches(self.x_train, self.y_train, self.batch_size, shuffle=True, seed=self.seed)

    def val_dataloader(self):
        return IndexBatches(self.x_val, self.y_val, len(self.y_val), shuffle=False)

    def test_dataloader(self):
        return IndexBatches(self.x_test, self.y_test, len(self.y_test), shuffle=False)

    def state_dict(self) -> dict:
        """What prediction needs, as plain values: classes, features and the fitted scaler."""
        return {
            "classes": list(self.classes),
            "feature_names": list(self.data.feature_names),
            "features": list(self.data.spec.features),
            "missing_indicators": list(self.data.spec.indicators),
            "feature_set": self.data.spec.name,
            "catalog": self.data.catalog.name,
            "scaler": scaler_state(self.scaler),
        }

    def load_state_dict(self, state: dict) -> None:
        self.scaler = scaler_from_state(state["scaler"])

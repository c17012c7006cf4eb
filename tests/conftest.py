"""Shared helpers: compose the real config with tiny overrides; run the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from xnet.config import BUNDLED_DATA_DIR, CONFIG_DIR

LIN_CSV = BUNDLED_DATA_DIR / "lin2024_4xmm_dr13_sample.csv"
CSC_CSV = BUNDLED_DATA_DIR / "muwclass_cscv2_td.csv"
FAST = ["trainer.max_epochs=3", "logger=none", "figures.enabled=false"]


def compose_config(overrides: list[str] | None = None, config_dir: Path = CONFIG_DIR):
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir)):
        return compose(config_name="train", overrides=list(overrides or []))


def data_config(name: str, **changes) -> dict:
    cfg = OmegaConf.to_container(compose_config([f"data={name}"]).data, resolve=True)
    cfg.update(changes)
    return cfg


def run_cli(module: str, *args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m <module> args...` as a user would type it."""
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=600
    )


def raw_lin() -> pd.DataFrame:
    """The bundled XMM slice as strings, exactly as in the file (for writing altered copies)."""
    return pd.read_csv(LIN_CSV, dtype=str, keep_default_na=False)


@pytest.fixture
def lin_frame_text():
    return raw_lin()

"""Config locations and the OmegaConf resolvers the YAML files use."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

#: conf/ at the repository root (the project is installed with `pip install -e .`)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"
#: the labelled catalogs shipped with the package
BUNDLED_DATA_DIR = Path(__file__).resolve().parent / "data" / "bundled"
#: environment variable naming the folder for downloaded catalogs
DATA_HOME_ENV = "XNET_DATA_HOME"


def data_home() -> Path:
    """Folder for downloaded catalogs: $XNET_DATA_HOME, else ~/xnet_data (like scikit-learn's)."""
    return Path(os.environ.get(DATA_HOME_ENV, "~/xnet_data")).expanduser()


def register_resolvers() -> None:
    """`${xnet_data:file}` is a bundled catalog, `${xnet_data_home:file}` a downloaded one."""
    if not OmegaConf.has_resolver("xnet_data"):
        OmegaConf.register_new_resolver("xnet_data", lambda name: str(BUNDLED_DATA_DIR / name))
    if not OmegaConf.has_resolver("xnet_data_home"):
        OmegaConf.register_new_resolver("xnet_data_home", lambda name: str(data_home() / name))


register_resolvers()

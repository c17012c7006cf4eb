"""Config locations, the OmegaConf resolvers the YAML files use, and composing configs
in-process."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from omegaconf import OmegaConf

from xnet.config import structured  # noqa: F401 (registers the schemas the YAML names)

#: conf/ at the repository root (the project is installed with `pip install -e .`)
CONFIG_DIR = Path(__file__).resolve().parents[3] / "conf"
#: the labelled catalogs shipped with the package
BUNDLED_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "bundled"
#: environment variable naming the folder for downloaded catalogs
DATA_HOME_ENV = "XNET_DATA_HOME"


def data_home() -> Path:
    """Folder for downloaded catalogs: $XNET_DATA_HOME, else ~/xnet_data (like scikit-learn's)."""
    return Path(os.environ.get(DATA_HOME_ENV, "~/xnet_data")).expanduser()


def register_resolvers() -> None:
    """`${xnet_data:file}` is a bundled catalog, `${xnet_data_home:file}` a downloaded one,
    `${xnet_choices:}` the data config names (conf/data/ and any --config-dir's)."""
    if not OmegaConf.has_resolver("xnet_data"):
        OmegaConf.register_new_resolver("xnet_data", lambda name: str(BUNDLED_DATA_DIR / name))
    if not OmegaConf.has_resolver("xnet_data_home"):
        OmegaConf.register_new_resolver("xnet_data_home", lambda name: str(data_home() / name))
    if not OmegaConf.has_resolver(
        "xnet_choices"
    ):  # `${xnet_choices:}`: the data configs, for help texts
        OmegaConf.register_new_resolver("xnet_choices", lambda: ", ".join(data_config_names()))
    if not OmegaConf.has_resolver("xnet_groups"):  # `${xnet_groups:}`: train's --help
        OmegaConf.register_new_resolver("xnet_groups", lambda: config_groups_text())


register_resolvers()


def compose_config(
    overrides: Sequence[str] | None = None,
    config_name: str = "train",
    config_dir: str | Path | None = None,
):
    """The config `python -m xnet.<config_name>` would run with these overrides (Hydra's compose
    API; for tests, benchmarks, notebooks and `xnet.api`)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from xnet.config.schema import composition_error

    overrides = list(overrides or [])
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir or CONFIG_DIR)):
        try:
            return compose(config_name=config_name, overrides=overrides)
        except ConfigCompositionException as err:
            raise composition_error(err, overrides, config_name) from None


def composed_in_one_line(func, argv: Sequence[str], config_name: str):
    """Run an entry point's `hydra.main` function so that a config Hydra cannot compose (a key no
    schema or file defines, a value of the wrong type, in a config file) ends in one line
    (`xnet.config.schema.composition_error`) rather than Hydra's report. Uses Hydra's documented
    HYDRA_FULL_ERROR switch, which lets the exception through to here; Hydra's other one-message
    errors are printed as Hydra prints them. A user who sets HYDRA_FULL_ERROR gets Hydra's own
    behaviour (tracebacks)."""
    from hydra.errors import CompactHydraException, ConfigCompositionException

    from xnet.config.schema import composition_error
    from xnet.errors import XnetError

    if "HYDRA_FULL_ERROR" in os.environ:
        return func()
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        return func()
    except ConfigCompositionException as err:
        raise composition_error(err, argv, config_name) from None
    except CompactHydraException as err:
        if isinstance(err, XnetError):
            raise
        cause = err.__cause__
        print(str(err) + (f"\n{cause}" if cause is not None else ""), file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)


@contextmanager
def _config_search_path() -> Iterator[None]:
    """Hydra's config search path: the running app's (with any --config-dir), else conf/."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        yield
    else:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
            yield


def _options(group: str, kind: str = "CONFIG") -> list[str]:
    """The configs (or, with kind GROUP, the sub-groups) of a group in the search path. Asks the
    config loader's repository directly: the loader's own `get_group_options` deep-copies the
    whole repository, ConfigStore schemas included, on every call (~10 ms each)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.object_type import ObjectType

    repository = GlobalHydra.instance().config_loader().repository
    return sorted(repository.get_group_options(group, getattr(ObjectType, kind)))


def data_config_names() -> list[str]:
    """The data configs in the search path (conf/data/ and any --config-dir's)."""
    with _config_search_path():
        return _options("data")


def config_groups_text() -> str:
    """`group: choice, ...` per config group of the search path (as Hydra's $APP_CONFIG_GROUPS),
    with the catalogs that have no `label` (prediction inputs such as xmm_dr13_slim) apart from
    the training data."""
    with _config_search_path():
        lines = []
        for group in [g for g in _options("", "GROUP") if g != "hydra"]:
            options = _options(group)
            if group != "data":
                lines.append(f"{group}: {', '.join(options)}")
                continue
            unlabelled = [n for n in options if (_self_contained(n) or {}).get("label", "") is None]
            training = [n for n in options if n not in unlabelled]
            lines.append(f"data: {', '.join(training)}")
            if unlabelled:
                lines.append(
                    f"  (prediction inputs only, xnet.predict catalog=: {', '.join(unlabelled)})"
                )
    return "\n".join(lines) + "\n"  # a blank line before the footer, as Hydra's own list


def compose_data_config(name: str, *, resolve: bool = True) -> dict:
    """conf/data/<name>.yaml (or one in --config-dir), with its defaults merged, as plain values
    (interpolations resolved where they can be). The one data-config composer: training's
    catalogs, `xnet.fetch` and `xnet.predict`'s catalog= all come through here."""
    from hydra import compose

    from xnet.errors import XnetError

    with _config_search_path():
        own = _self_contained(name)
        if own is not None:
            return plain_config(own, resolve=resolve)
        try:
            cfg = compose(config_name=None, overrides=[f"+data={name}"])
        except Exception as err:  # Hydra's MissingConfigException, ConfigCompositionException, ...
            known = data_config_names()
            if name not in known:
                raise XnetError(
                    f"catalog={name}: no such data config; available: {', '.join(known)}"
                ) from None
            raise XnetError(
                f"catalog={name}: data config cannot be composed ({str(err).splitlines()[0]})"
            ) from None
    return plain_config(cfg.data, resolve=resolve)


def _self_contained(name: str):
    """data/<name> as Hydra's repository loads it (search path and precedence included), when it
    has no defaults list and no package header, so that composing it would give it unchanged: a
    composition costs ~0.2 s, and `xnet.predict` tries several catalog configs on an input. None
    otherwise (then it is composed)."""
    from hydra.core.global_hydra import GlobalHydra

    try:
        loaded = GlobalHydra.instance().config_loader().repository.load_config(f"data/{name}")
    except Exception:  # not found, unreadable, or another Hydra: composing says what is wrong
        return None
    if (
        loaded is None
        or loaded.defaults_list
        or "defaults" in loaded.config
        or (loaded.header or {}).get("package")
    ):
        return None
    return loaded.config


def plain_config(node, *, resolve: bool = True) -> dict:
    """A config node as plain values, interpolations resolved where they can be."""
    from omegaconf import OmegaConf

    if resolve:
        try:
            return OmegaConf.to_container(node, resolve=True)
        except (
            Exception
        ):  # an interpolation that cannot be resolved here (the training file's path)
            pass
    return OmegaConf.to_container(node, resolve=False)

"""Networks plugged in by config (`model._target_`): a class named by its dotted path.

xnet offers the constructor `n_features`, `n_classes`, `class_names` and the `model.*` keys of the
config, and passes those its signature names (all of them to a `**kwargs`). A checkpoint records
the class path and exactly those arguments (plain values); loading it imports the class by its path
(only a `torch.nn.Module` subclass, never anything a checkpoint could smuggle in) and calls it with
them. docs/lightning.md states the contract.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from importlib import import_module

from torch import nn

from xnet.errors import XnetError


def network_class(path: str) -> type[nn.Module]:
    """The class at a dotted path, imported only if importable; one line otherwise, and for
    anything that is not a `torch.nn.Module` subclass (a checkpoint names it: nothing else runs)."""
    module_name, _, name = str(path).rpartition(".")
    try:
        module = import_module(module_name) if module_name else None
    except Exception as err:  # ImportError, or the module's own import failing
        raise XnetError(
            f"model class {path} cannot be imported ({type(err).__name__}: {err}); install the "
            "package that defines it or put its folder on PYTHONPATH"
        ) from None
    cls = getattr(module, name, None)
    if cls is None:
        raise XnetError(f"model class {path}: no such class (module {module_name or '?'!r})")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise XnetError(f"model class {path}: not a torch.nn.Module (LightningModule) class")
    return cls


def accepted_arguments(cls: type, offered: Mapping) -> tuple[dict, list[str]]:
    """(the offered arguments the constructor names, all of them for a **kwargs; the rest)."""
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return dict(offered), []
    names = {p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL}
    return (
        {k: v for k, v in offered.items() if k in names},
        [k for k in offered if k not in names],
    )


def build_network(path: str, arguments: Mapping) -> nn.Module:
    """The plugged network of a checkpoint: its class called with its recorded arguments."""
    cls = network_class(path)
    try:
        return cls(**dict(arguments))
    except Exception as err:  # the user's constructor; its failure is one line
        raise XnetError(
            f"model class {path} cannot be created from its recorded arguments "
            f"({type(err).__name__}: {err})"
        ) from None

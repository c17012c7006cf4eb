"""The optimiser settings, in one place: `conf/model/mlp.yaml` (the founding study's values).

The stacked trainer, the plain engine's Adam (`study_adam`), the checkpointed classifier's record
of its fit and the scikit-learn baseline all read them from here; no module repeats the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from xnet.config.compose import CONFIG_DIR

#: the model config's keys that describe the fit (not the network's shape)
OPTIMIZER_KEYS = ("lr", "beta1", "beta2", "eps", "l2_alpha", "batch_size", "class_weighted")


def study_settings() -> dict:
    """conf/model/mlp.yaml as plain values (network shape and optimiser)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "model" / "mlp.yaml"), resolve=True)


def optimizer_settings(model_cfg: Mapping | None = None) -> dict:
    """The optimiser settings of a model config (default: conf/model/mlp.yaml) as plain values."""
    m = study_settings() if model_cfg is None else model_cfg
    kinds = {"batch_size": int, "class_weighted": bool}
    return {key: kinds.get(key, float)(m[key]) for key in OPTIMIZER_KEYS}


def adam(params, settings: Mapping, fused: bool = True) -> torch.optim.Adam:
    """Adam with the settings' lr, betas and eps, one parameter group (one fused kernel per step
    where the device has it and `fused`). The L2 penalty is added to the gradients by the
    trainer."""
    kwargs = dict(
        lr=settings["lr"], betas=(settings["beta1"], settings["beta2"]), eps=settings["eps"]
    )
    params = list(params)
    if not fused:
        return torch.optim.Adam(params, foreach=True, **kwargs)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):  # fused kernels missing for this device/dtype
        return torch.optim.Adam(params, foreach=True, **kwargs)


def study_adam(net: torch.nn.Module, settings: Mapping, batch_size: int) -> torch.optim.Adam:
    """`adam` for one network of the MLP family trained by Lightning's own loop: scikit-learn's L2
    penalty (alpha / batch on the weight matrices of the MLP, not its biases nor any encoder) as
    Adam's coupled weight decay, which adds it to the gradients as the stacked trainer does. Not
    fused: Lightning clips gradients (`trainer.gradient_clip_val`) and scales them under mixed
    precision only for an optimiser that leaves that to it."""
    decayed, rest = [], []
    for name, p in net.named_parameters():
        matrix = name.endswith("weight") and p.ndim == 2 and not name.startswith("encoders.")
        (decayed if matrix else rest).append(p)
    decay = float(settings["l2_alpha"]) / max(1, int(batch_size))
    groups = [{"params": decayed, "weight_decay": decay}, {"params": rest, "weight_decay": 0.0}]
    return adam([g for g in groups if g["params"]], settings, fused=False)

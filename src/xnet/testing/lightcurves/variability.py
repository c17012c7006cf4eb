"""Class-dependent true light curves (relative rate, mean about 1) on a grid of bins.

Each class gets the kind of variability its sources are known for, with made-up parameters:
- AGN: red noise with a power-law power spectrum (index 1.5-2.5, 10-40 % rms), stingray's
  `Simulator` (Timmer & Koenig 1995);
- LM-STAR: quiescence with short flares (fast rise, 0.5-3 ks exponential decay);
- YSO: fewer, longer and larger flares (3-15 ks) on a slow trend;
- HM-STAR: nearly constant (a few % of white noise);
- CV: orbital modulation (1.4-6 h), flickering, and in some an eclipse;
- LMXB: flickering, dips or eclipses on a 2-10 h orbit, sometimes a short burst;
- HMXB: strong red noise and pulsations (100-1000 s), sometimes an eclipse;
- NS: constant with pulsations whose period is drawn from 0.1 s to 1000 s: the bins average out
  the fast ones (binning allows only the slow ones to show).
Pulsations are averaged over each bin (the sinc factor), as a binned light curve sees them.
"""

from __future__ import annotations

import warnings

import numpy as np

CLASSES = ("AGN", "CV", "HM-STAR", "HMXB", "LM-STAR", "LMXB", "NS", "YSO")


def red_noise(n: int, dt: float, rms: float, index: float, rng: np.random.Generator) -> np.ndarray:
    """Relative rate with a power-law power spectrum P(f) ~ f^-index (stingray's simulator)."""
    seed = int(rng.integers(2**31 - 1))
    with warnings.catch_warnings():  # stingray warns that it treats the errors as Poisson's
        warnings.simplefilter("ignore")
        from stingray.simulator.simulator import Simulator

        simulator = Simulator(dt=dt, N=int(n), mean=1.0, rms=rms, random_state=seed)
        lc = simulator.simulate(float(index))
    return np.asarray(lc.counts, float)


def flares(
    time: np.ndarray, rng: np.random.Generator, per_ks: float, amp: tuple, decay: tuple
) -> np.ndarray:
    """Sum of flares (linear rise over a fifth of the decay time, exponential decay)."""
    out = np.zeros_like(time)
    length = time[-1] - time[0]
    for _ in range(rng.poisson(per_ks * length / 1000.0)):
        start = rng.uniform(time[0] - 0.2 * length, time[-1])
        tau = rng.uniform(*decay)
        height = rng.uniform(*amp)
        rise = 0.2 * tau
        t = time - start
        fall = np.exp(-np.clip(t - rise, 0.0, None) / tau)
        shape = np.where(t < 0, 0.0, np.where(t < rise, t / rise, fall))
        out += height * shape
    return out


def pulsation(time: np.ndarray, dt: float, period: float, fraction: float, phase: float):
    """A sinusoidal pulse of `fraction` amplitude, averaged over bins of `dt` seconds."""
    return fraction * np.sinc(dt / period) * np.sin(2 * np.pi * time / period + phase)


def orbit(time: np.ndarray, period: float, amplitude: float, phase: float) -> np.ndarray:
    return 1.0 + amplitude * np.sin(2 * np.pi * time / period + phase)


def eclipse(
    time: np.ndarray, period: float, phase: float, width: float, depth: float
) -> np.ndarray:
    """Multiplicative dips of `depth` lasting `width` of the orbit, once per `period`."""
    cycle = np.mod(time / period + phase / (2 * np.pi), 1.0)
    return np.where(np.abs(cycle - 0.5) < width / 2, 1.0 - depth, 1.0)


def true_rate(cls: str, time: np.ndarray, dt: float, rng: np.random.Generator) -> np.ndarray:
    """The relative true rate of a source of class `cls` at bin centres `time` (bins of `dt` s)."""
    n = len(time)
    u, phase = rng.uniform, rng.uniform(0, 2 * np.pi)
    if cls == "AGN":
        rate = red_noise(n, dt, u(0.1, 0.4), u(1.5, 2.5), rng)
    elif cls == "LM-STAR":
        rate = 1.0 + flares(time, rng, 0.04, (1.0, 8.0), (500.0, 3000.0))
    elif cls == "YSO":
        trend = 1.0 + u(-0.3, 0.3) * (time - time.mean()) / max(np.ptp(time), 1.0)
        rate = trend + flares(time, rng, 0.02, (2.0, 15.0), (3000.0, 15000.0))
    elif cls == "HM-STAR":
        rate = 1.0 + u(0.01, 0.05) * rng.standard_normal(n)
    elif cls == "CV":
        period = u(5000.0, 21600.0)
        rate = orbit(time, period, u(0.2, 0.6), phase) * red_noise(n, dt, 0.15, 1.5, rng)
        if rng.random() < 0.4:
            rate = rate * eclipse(time, period, phase, u(0.04, 0.1), u(0.6, 0.95))
    elif cls == "LMXB":
        period = u(7200.0, 36000.0)
        rate = red_noise(n, dt, u(0.1, 0.3), 1.0, rng)
        rate = rate * eclipse(time, period, phase, u(0.05, 0.15), u(0.5, 0.95))
        if rng.random() < 0.3:
            rate = rate + flares(time, rng, 0.05, (3.0, 10.0), (20.0, 60.0))
    elif cls == "HMXB":
        rate = red_noise(n, dt, u(0.2, 0.5), u(1.0, 2.0), rng)
        rate = rate + pulsation(time, dt, u(100.0, 1000.0), u(0.2, 0.6), phase)
        if rng.random() < 0.2:
            rate = rate * eclipse(time, u(5e4, 2e5), phase, 0.2, 0.9)
    elif cls == "NS":
        period = 10 ** u(-1.0, 3.0)
        rate = 1.0 + pulsation(time, dt, period, u(0.1, 0.4), phase)
        rate = rate + 0.02 * rng.standard_normal(n)
    else:
        raise ValueError(f"no variability model for class {cls!r}; known: {', '.join(CLASSES)}")
    return np.clip(rate, 0.0, None)

"""What each piece of xnet's speed machinery is worth: whole commands with one piece switched off.

Every variant is a whole process (interpreter start to exit) of the same command; the variants run
round-robin, `--repeats` rounds, so that all see the same machine state. A piece is switched off
from outside, by patching it as its module is imported (no switch in xnet itself):

- `gc pause`: `xnet.startup.pause` does nothing (the collector runs during the imports);
- `compose once`: `xnet.startup.compose_once` does nothing (Hydra composes twice);
- `prefetch`: `xnet.training.prefetch.start` does nothing (the run prepares its data itself);
- `draw ahead`: `xnet.plotting.figure_cache.draw_ahead` does nothing (a first run draws its data
  figures after the fit, in-process);
- `forked renderer`: `xnet.plotting.png.Renderer.submit` renders in-process;
- `idle-core threads`: `model.num_threads=1` instead of `auto`.

Commands: `train`, the default `python -m xnet.train` (figure cache warm, as a user repeats it),
and `cv`, the 5-fold CV on a 16,000-source distinct Chandra-schema file
(`xnet.testing.distinct_sources`) as a first run on new data (a fresh data home each run, so its
data figures are drawn each time).

    python benchmarks/machinery.py [--repeats 5] [--only train,cv] [--rows 16000]

Prints, per command and variant, the median and the fastest run and what switching the piece off
costs, in seconds and as a share of the whole command (median of `all`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import DEVNULL, PIPE

from xnet.testing.distinct_sources import write_distinct_sources

REPO = Path(__file__).resolve().parents[1]

# Runs `python -m xnet.train` with `PATCHES[name]` applied when its module is first imported.
WRAPPER = """
import importlib.abc, importlib.machinery, sys
module, patch = sys.argv[1], sys.argv[2]
class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != module:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(m):
            run(m)
            exec(patch, {"m": m})
        spec.loader.exec_module = exec_module
        return spec
if module:
    sys.meta_path.insert(0, Hook())
sys.argv = ["xnet.train", *sys.argv[3:]]
from xnet.train import main
main()
"""

IN_PROCESS_RENDER = """
from xnet.plotting.png import png_bytes
def submit(self, fig, path=None, then=None, dpi=110, tight=True):
    self.pending.append((None, dpi, tight, path, then, None, png_bytes(fig, dpi, tight)))
m.Renderer.submit = submit
"""

#: variant -> (module to patch, patch code run with the module as `m`, extra overrides)
VARIANTS = {
    "all": ("", "", []),
    "gc pause": ("xnet.startup", "m.pause = lambda: None", []),
    "compose once": ("xnet.startup", "m.compose_once = lambda *a: None", []),
    "prefetch": ("xnet.training.prefetch", "m.start = lambda cfg: None", []),
    "draw ahead": ("xnet.plotting.figure_cache", "m.draw_ahead = lambda d, s: None", []),
    "forked renderer": ("xnet.plotting.png", IN_PROCESS_RENDER, []),
    "idle-core threads": ("", "", ["model.num_threads=1"]),
}


def run(variant: str, overrides: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and the children it waited for)."""
    module, patch, extra = VARIANTS[variant]
    argv = [sys.executable, "-c", WRAPPER, module, patch, *overrides, *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=DEVNULL, stderr=PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr.read()[-3000:]}")
    proc.stderr.close()
    return seconds, usage.ru_utime + usage.ru_stime


def measure(name: str, overrides, variants, repeats: int, tmp: Path, fresh_home: bool) -> None:
    times: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    count = 0
    for _ in range(repeats):
        for variant in variants:
            count += 1
            home = tmp / (f"home{count}" if fresh_home else "home")
            env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(home)}
            argv = [*overrides, f"hydra.run.dir={tmp}/run{count}"]
            wall, used = run(variant, argv, env)
            times[variant].append(wall)
            cpu[variant].append(used)
            shutil.rmtree(tmp / f"run{count}", ignore_errors=True)
            if fresh_home:
                shutil.rmtree(home, ignore_errors=True)
    base = statistics.median(times["all"])
    fastest = min(times["all"])
    print(f"\n{name} ({repeats} rounds, interleaved)\n")
    print(
        "| switched off | median s | fastest s | runs | cost (median) | cost (fastest) "
        "| CPU s (median) |\n" + "|---" * 7 + "|"
    )
    for variant, ts in times.items():
        med, low = statistics.median(ts), min(ts)
        runs = ", ".join(f"{t:.1f}" for t in ts)
        label = "nothing (all on)" if variant == "all" else variant
        print(
            f"| {label} | {med:.2f} | {low:.2f} | {runs} | {med - base:+.2f} s "
            f"({100 * (med - base) / base:+.1f} %) | {low - fastest:+.2f} s "
            f"({100 * (low - fastest) / fastest:+.1f} %) | {statistics.median(cpu[variant]):.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="train,cv")
    parser.add_argument("--rows", type=int, default=16_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xnet-machinery-"))
    try:
        if "train" in args.only:
            env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(tmp / "home")}
            run("all", [f"hydra.run.dir={tmp}/warm"], env)  # the figure cache, as users have it
            variants = [v for v in VARIANTS if v != "draw ahead"]  # nothing to draw: cache warm
            measure("python -m xnet.train", [], variants, args.repeats, tmp, False)
        if "cv" in args.only:
            data = write_distinct_sources(tmp / "distinct.csv", args.rows)
            overrides = ["data=csc_muwclass", f"data.path={data}", "features=xray_mw", "cv.folds=5"]
            name = f"5-fold CV, {args.rows:,} distinct sources, first run on the file"
            measure(name, overrides, list(VARIANTS), args.repeats, tmp, True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\npython {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load}")


if __name__ == "__main__":
    main()

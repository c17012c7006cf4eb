"""What each piece of xnet's speed machinery is worth: whole commands with one piece switched off.

Every variant is a whole process (interpreter start to exit) of the same command; the variants run
round-robin, `--repeats` rounds, each round starting one variant later, so that all see the same
machine state. A piece is switched off through xnet's own switch, the environment variable
`XNET_SPEED_OFF` (`xnet.runtime.switch`):

- `gc`: the collector runs during the imports (`xnet.runtime.startup.pause` does nothing);
- `draw_ahead`: a first run draws its data figures after the fit, in-process;
- `all`: every piece at once;
- `idle-core threads (1)` / `(all)`: `model.num_threads=1`, or every usable core (torch's own
  default), instead of `auto` (following the idle cores): a config value, not the switch.

Commands: `train`, the default `python -m xnet.train` (figure cache warm, as a user repeats it),
and `cv`, the 5-fold CV on a 16,000-source distinct Chandra-schema file
(`xnet.testing.distinct_sources`) as a first run on new data (a fresh data home each run, so its
data figures are drawn each time). `work` times, in one process, the CPU seconds of the work each
piece moves off the main process: the most it can save, given an idle core.

    python benchmarks/machinery.py [--repeats 5] [--only train,predict,cv,work,threads]
        [--rows 16000] [--variants all,gc,...]

Prints, per command and variant, the median and the fastest run and what switching the piece off
costs, in seconds and as a share of the whole command (median of `nothing off`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import DEVNULL, PIPE

from xnet.runtime.cores import usable_cores
from xnet.testing.distinct_sources import write_distinct_sources

REPO = Path(__file__).resolve().parents[1]

#: variant -> (XNET_SPEED_OFF, extra overrides)
VARIANTS = {
    "nothing off": ("", []),
    "gc": ("gc", []),
    "draw_ahead": ("draw_ahead", []),
    "all": ("all", []),
    "idle-core threads (1)": ("", ["model.num_threads=1"]),
    "idle-core threads (all)": ("", [f"model.num_threads={usable_cores()}"]),
}


def run(
    variant: str, overrides: list[str], env: dict, entry: str = "xnet.train"
) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and the children it waited for)."""
    off, extra = VARIANTS[variant]
    argv = [sys.executable, "-m", entry, *overrides, *extra]
    env = {**env, "XNET_SPEED_OFF": off}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=DEVNULL, stderr=PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr.read()[-3000:]}")
    proc.stderr.close()
    return seconds, usage.ru_utime + usage.ru_stime


def measure(
    name: str, overrides, variants, repeats: int, tmp: Path, fresh_home: bool, entry="xnet.train"
) -> None:
    times: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    count = 0
    for round_ in range(repeats):
        # each round starts one variant later: no variant always runs first or last
        for variant in variants[round_ % len(variants) :] + variants[: round_ % len(variants)]:
            count += 1
            home = tmp / (f"home{count}" if fresh_home else "home")
            env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(home)}
            argv = [*overrides, f"hydra.run.dir={tmp}/run{count}"]
            wall, used = run(variant, argv, env, entry)
            times[variant].append(wall)
            cpu[variant].append(used)
            shutil.rmtree(tmp / f"run{count}", ignore_errors=True)
            if fresh_home:
                shutil.rmtree(home, ignore_errors=True)
    base = statistics.median(times["nothing off"])
    fastest = min(times["nothing off"])
    print(f"\n{name} ({repeats} rounds, interleaved)\n")
    print(
        "| switched off | median s | fastest s | runs | cost (median) | cost (fastest) "
        "| CPU s (median) |\n" + "|---" * 7 + "|"
    )
    for variant, ts in times.items():
        med, low = statistics.median(ts), min(ts)
        runs = ", ".join(f"{t:.1f}" for t in ts)
        print(
            f"| {variant} | {med:.2f} | {low:.2f} | {runs} | {med - base:+.2f} s "
            f"({100 * (med - base) / base:+.1f} %) | {low - fastest:+.2f} s "
            f"({100 * (low - fastest) / fastest:+.1f} %) | {statistics.median(cpu[variant]):.2f} |",
            flush=True,
        )


def predict(tmp: Path, repeats: int) -> None:
    """`python -m xnet.predict` of a model trained on the bundled slice, on a 656,997-row slim
    FITS (4XMM-DR13 schema, `xnet.testing.mock_catalog`), as benchmarks/commands.py times it."""
    from xnet.testing import mock_catalog

    env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(tmp / "home")}
    trained = tmp / "trained"
    run("nothing off", [f"hydra.run.dir={trained}", "logger=none", "figures.enabled=false"], env)
    catalog = tmp / "slim.fits"
    mock_catalog.write_fits(catalog, mock_catalog.slim_table, 656_997)
    overrides = [f"run={trained}", f"input={catalog}", f"output={tmp}/p.parquet", "overwrite=true"]
    variants = ["nothing off", "gc"]
    name = "python -m xnet.predict, 656,997 rows"
    measure(name, overrides, variants, repeats, tmp, False, entry="xnet.predict.job")


def cpu() -> float:
    return time.process_time()


def work_child(overrides: list[str], tmp: Path, data_figures: bool) -> None:
    """In a fresh process, the CPU seconds of the work each piece moves off the main process (what
    it can save at most, with an idle core) and of the whole command, printed as one JSON line."""
    t = cpu()
    from xnet.config.compose import compose_config

    cfg = compose_config(overrides)
    out = {"compose (first)": cpu() - t}
    t = cpu()
    compose_config(overrides)
    out["compose (again)"] = cpu() - t
    from xnet.data.prepare import fit_split, job_data
    from xnet.data.splits import ensemble_splits

    t = cpu()
    data, splits = job_data(cfg)
    for outer in splits:
        inner = ensemble_splits(outer, data.y, 0.1, int(cfg.seed), 1, groups=data.groups)
        for split, seed in inner:
            fit_split(data, split, dict(cfg.resample), seed)
    out["data preparation"] = cpu() - t
    if data_figures:
        import matplotlib.pyplot  # noqa: F401  (imported by the run anyway)

        from xnet.plotting.data_figures import write_data_figures

        t = cpu()
        write_data_figures(tmp / "figures", data, splits[0])
        out["data figures (draw ahead)"] = cpu() - t
    from xnet.plotting import renderer

    rendering = [0.0]

    def timed(fig, dpi=110, tight=True):
        start = cpu()
        image = png_bytes(fig, dpi, tight)
        rendering[0] += cpu() - start
        return image

    png_bytes, renderer.png_bytes = renderer.png_bytes, timed
    from xnet.training.run import train

    t = cpu()
    train(cfg, tmp / "run")
    out["train() in-process"] = cpu() - t
    out["run figures (rendered)"] = rendering[0]
    out["process CPU"] = cpu()
    print(json.dumps(out))


def work(name: str, overrides: list[str], tmp: Path, data_figures: bool, repeats: int) -> None:
    runs = []
    for k in range(repeats):
        env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(tmp / f"work{k}")}
        argv = [sys.executable, __file__, "--work-child", str(tmp / f"w{k}"), str(data_figures)]
        done = subprocess.run([*argv, *overrides], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    total = statistics.median(r["process CPU"] for r in runs)
    print(f"\n{name}: CPU seconds of each piece's work (in-process, medians of {repeats})\n")
    print("| work | CPU s | share of the process's CPU |\n|---|---|---|")
    for key in runs[0]:
        value = statistics.median(r[key] for r in runs)
        print(f"| {key} | {value:.2f} | {100 * value / total:.1f} % |", flush=True)


def threads(rows: int, repeats: int, tmp: Path) -> None:
    """Wall and CPU ms per member-epoch of a 5-fold stack on 1 and 2 torch threads, alternating."""
    import torch

    from xnet.config.compose import compose_config
    from xnet.data.labelled import prepare_labelled_set
    from xnet.data.splits import make_splits
    from xnet.training.datamodule import XrayDataModule
    from xnet.training.run import quiet_lightning
    from xnet.training.stacking import Job, Member, fit_stack

    quiet_lightning()
    path = write_distinct_sources(tmp / "threads.csv", rows)
    results: dict[int, list] = {1: [], 2: []}
    for _ in range(repeats):
        for n in (1, 2):
            overrides = ["data=csc_muwclass", f"data.path={path}", "features=xray_mw"]
            overrides += ["trainer.max_epochs=20", "early_stopping.patience=50", "logger=none"]
            cfg = compose_config([*overrides, f"model.num_threads={n}", "progress=false"])
            data = prepare_labelled_set(cfg.data, cfg.features, 10)
            splits = list(make_splits(data.y, cfg.split, 5, cfg.seed))
            job = Job(cfg=cfg, run_dir=tmp / "t", data=data, splits=splits)
            members = [
                Member(job=job, split=s, dm=XrayDataModule(data, s, cfg.resample)) for s in splits
            ]
            for m in members:
                m.dm.setup("fit")
            wall, used = time.perf_counter(), time.process_time()
            fit_stack(members)
            wall, used = time.perf_counter() - wall, time.process_time() - used
            results[n].append((1e3 * wall / 100, 1e3 * used / 100, torch.get_num_threads()))
    print(f"\n5-fold stack, {rows:,} sources, 20 epochs: ms per member-epoch, {repeats} rounds\n")
    print("| torch threads | wall median | wall fastest | CPU median |\n|---|---|---|---|")
    for n, rs in results.items():
        walls = [r[0] for r in rs]
        print(
            f"| {n} | {statistics.median(walls):.2f} | {min(walls):.2f} | "
            f"{statistics.median(r[1] for r in rs):.2f} |"
        )


def main() -> None:
    if sys.argv[1:2] == ["--work-child"]:
        tmp, figures = Path(sys.argv[2]), sys.argv[3] == "True"
        return work_child(sys.argv[4:], tmp, figures)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="train,predict,cv,work,threads")
    parser.add_argument("--rows", type=int, default=16_000)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    args = parser.parse_args()
    chosen = ["nothing off"] + [v for v in args.variants.split(",") if v and v != "nothing off"]
    tmp = Path(tempfile.mkdtemp(prefix="xnet-machinery-"))
    try:
        if "train" in args.only:
            env = {**os.environ, "MPLBACKEND": "Agg", "XNET_DATA_HOME": str(tmp / "home")}
            run("nothing off", [f"hydra.run.dir={tmp}/warm"], env)  # the figure cache, warm
            variants = [v for v in chosen if v != "draw_ahead"]  # nothing to draw: cache warm
            measure("python -m xnet.train", [], variants, args.repeats, tmp, False)
        if "predict" in args.only:
            predict(tmp, args.repeats)
        if "cv" in args.only:
            data = write_distinct_sources(tmp / "distinct.csv", args.rows)
            overrides = ["data=csc_muwclass", f"data.path={data}", "features=xray_mw", "cv.folds=5"]
            name = f"5-fold CV, {args.rows:,} distinct sources, first run on the file"
            measure(name, overrides, chosen, args.repeats, tmp, True)
        if "work" in args.only:
            work("python -m xnet.train", ["logger=tensorboard"], tmp, False, args.repeats)
            data = write_distinct_sources(tmp / "distinct.csv", args.rows)
            overrides = ["data=csc_muwclass", f"data.path={data}", "features=xray_mw", "cv.folds=5"]
            work(f"5-fold CV, {args.rows:,} distinct sources", overrides, tmp, True, args.repeats)
        if "threads" in args.only:
            threads(args.rows, args.repeats, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    cores = f"{usable_cores()} usable cores of {os.cpu_count()}"
    print(f"\npython {sys.version.split()[0]}, {cores}, load average {load}")


if __name__ == "__main__":
    main()

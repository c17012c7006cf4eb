"""`python -m xnet.train`: train and evaluate on a labelled catalog (one split or K folds).

The entry point only: it composes the config (Hydra), checks the command line and hands over to
`xnet.training.run`. Writes into the Hydra run directory: metrics.json, checkpoints/,
tensorboard/ and .hydra/; a directory holding a finished run is refused unless overwrite=true
(`xnet.runs.run_dir`).
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from xnet.config.argv import parse as argv_parse
from xnet.config.compose import CONFIG_DIR, composed_in_one_line
from xnet.config.schema import check_overrides
from xnet.errors import XnetError, exit_on_error, quiet_broken_pipe, stop_on_signals
from xnet.runs import launcher_state
from xnet.runs.job_logs import record_log_files
from xnet.runs.run_dir import check_command_line, check_job_dir
from xnet.runtime import startup
from xnet.training.run import check_config, optimized_value

#: what training imports (Lightning, torch, torchmetrics, scikit-learn, pandas), loaded once the
#: command line and config are checked, with the garbage collector paused (`xnet.runtime.startup`)
TRAINING_MODULES = (
    "xnet.training.board",
    "xnet.training.evaluation",
    "xnet.training.report",
    "xnet.training.stacking",
)


def _job(cfg: DictConfig) -> float | None:
    from xnet.training.run import train

    check_config(cfg)
    run_dir = HydraConfig.get().runtime.output_dir
    check_job_dir(run_dir, bool(cfg.overwrite))
    startup.resume(*TRAINING_MODULES)
    if launcher_state.recorded is not None:  # the stacked sweep launcher trains all jobs afterwards
        launcher_state.recorded.append(
            (cfg, run_dir, record_log_files())
        )  # the job's own log, for later
        return None
    payload = train(cfg, run_dir)
    return optimized_value(payload, str(cfg.optimized_metric))


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    # one error style for every entry point: `xnet: error: ...`, exit 2 (not Hydra's job report)
    return exit_on_error(lambda: _job(cfg))


def check_group_choices(argv: list[str], config_dir: Path = CONFIG_DIR) -> None:
    """A one-line error for `group=value` naming a config that does not exist (Hydra's own message
    spans a screen). Looks in conf/ and any --config-dir/-cd; other mistakes are left to Hydra."""
    command = argv_parse(argv)
    dirs = command.config_dirs(config_dir)
    for o in command.overrides:
        if "." in o.key or "/" in o.key or not o.value or o.value == "null":
            continue
        groups = [d / o.key for d in dirs if (d / o.key).is_dir()]
        for choice in o.value.split(",") if groups else ():
            if not any((g / f"{choice}.yaml").exists() for g in groups):
                options = sorted({p.stem for g in groups for p in g.glob("*.yaml")})
                raise XnetError(
                    f"{o.key}={choice}: no such {o.key} config; available: {', '.join(options)}"
                )


#: what a stopped training or sweep leaves: no metrics.json (a run dir without it is an unfinished
#: run, whose files the next training into it removes), no sweep summary
UNFINISHED = {
    False: "the run did not finish (no metrics.json)",
    True: "the sweep did not finish (no summary.csv; a job without metrics.json is unfinished)",
}


def main() -> None:
    import sys

    stop_on_signals()  # SIGTERM / Ctrl-C: one line, exit 143 / 130, no metrics.json
    startup.pause()  # until the training modules are imported (`_job`); --help, errors stay paused

    def check_arguments() -> None:
        check_group_choices(sys.argv[1:])
        check_overrides(sys.argv[1:], "train", CONFIG_DIR)  # keys, types, ranges (sweeps too)
        check_command_line(sys.argv[1:])

    exit_on_error(check_arguments)
    sweep = argv_parse(sys.argv[1:]).multirun
    argv = sys.argv[1:]
    quiet_broken_pipe(
        lambda: exit_on_error(
            lambda: composed_in_one_line(_hydra_main, argv, "train"),
            unfinished=UNFINISHED[sweep],
        )
    )


if __name__ == "__main__":
    # run the importable xnet.train, not this __main__ copy: joblib's workers then pickle the task
    # function by reference instead of by value (which drags torch objects along and fails)
    from xnet.train import main as _main

    _main()

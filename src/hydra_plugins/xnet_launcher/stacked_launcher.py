"""Hydra launcher `hydra/launcher=xnet_stacked`: a sweep's jobs train as stacked members.

Hydra's basic launcher runs one job after another; a 30-30 MLP job is so small that Lightning's
fixed costs dominate it. This launcher sets up every job exactly as the basic launcher does (its
own directory, .hydra/ files, log), but only records its config; then `xnet.training.run.train_many`
trains all jobs together, stacking members that can share a model (`batching` in conf/train.yaml),
writes each job's metrics.json and hands each job's optimized metric back to Hydra (so sweepers
such as Optuna work unchanged).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.utils import (
    JobReturn,
    JobStatus,
    configure_log,
    filter_overrides,
    run_job,
    setup_globals,
)
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


@dataclass
class StackedLauncherConf:
    _target_: str = "hydra_plugins.xnet_launcher.stacked_launcher.StackedLauncher"


ConfigStore.instance().store(
    group="hydra/launcher", name="xnet_stacked", node=StackedLauncherConf, provider="xnet"
)


class StackedLauncher(Launcher):
    def __init__(self) -> None:
        super().__init__()
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        from xnet.runs.job_logs import SweepConsole, quiet_optuna

        self.console = SweepConsole()  # one per sweep: Optuna's batches print each line once
        quiet_optuna()

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from xnet.runs.launcher_state import deferred_jobs
        from xnet.training import run as xtrain

        setup_globals()
        assert (
            self.hydra_context is not None
            and self.config is not None
            and self.task_function is not None
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        from xnet.runs.job_logs import short_floats

        log.info(f"Launching {len(job_overrides)} jobs locally, stacked")
        runs: list[JobReturn] = []
        deferred: list = []
        with deferred_jobs(deferred):
            for idx, overrides in enumerate(job_overrides):
                idx = initial_job_idx + idx
                log.info(f"\t#{idx} : {short_floats(' '.join(filter_overrides(overrides)))}")
                runs.append(self._record_job(overrides, idx))
        recorded = [
            (ret, job) for ret, job in zip(runs, deferred) if ret.status == JobStatus.COMPLETED
        ]
        if recorded:
            from xnet.errors import exit_on_error

            values = exit_on_error(
                lambda: xtrain.run_deferred([job for _, job in recorded], self.console)
            )
            for (ret, _), value in zip(recorded, values):
                ret.return_value = value
        return runs

    def _record_job(self, overrides: Sequence[str], idx: int) -> JobReturn:
        """Set up job `idx` as the basic launcher does (its directory, .hydra/ files, log); the
        task function records its config (`deferred_jobs`) instead of training."""
        sweep_config = self.hydra_context.config_loader.load_sweep_config(
            self.config, list(overrides)
        )
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = idx
            sweep_config.hydra.job.num = idx
        ret = run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=sweep_config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return ret

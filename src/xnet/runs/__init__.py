"""Runs and sweeps on disk: run directories and their claims, job logs, sweep summaries, launcher
state, overrides."""

"""Judging trained models: metrics, calibration, coverage (selective classification), sample
sizes, inner validation, the typed metrics.json results (`results`) and attributions (why a source
got its class). Below models, plotting and predict, which import it."""

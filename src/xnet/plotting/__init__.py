"""Figures (matplotlib, headless): `draw` draws one figure per function; `run_figures` decides
which of them a run writes and where; `reliability` draws calibration diagrams."""

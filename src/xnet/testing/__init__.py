"""Helpers for tests and benchmarks: mock 4XMM-DR13 catalogs (`mock_catalog`), the scikit-learn
baseline with the study's settings (`baselines`) and synthetic light curves (`lightcurves`)."""

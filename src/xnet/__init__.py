"""xnet: neural-network classification of X-ray sources.

Sub-packages by pipeline stage: `data`, `models`, `training`, `predict`, `plotting`, `testing`.
Commands: `python -m xnet.train`, `python -m xnet.predict`, `python -m xnet.fetch`; the same from
Python (notebooks): `from xnet.api import train, predict`.
"""

__version__ = "0.1.0"

"""Judging trained models: attributions (why a source got its class)."""

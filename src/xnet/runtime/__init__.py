"""Process-level speed machinery: start-up, cores, the prefetch child."""

"""Process-level speed machinery, behind one switch (`XNET_SPEED_OFF`, `xnet.runtime.switch`):
start-up (`startup`), the cores a process may use (`cores`), the data prepared ahead
(`prefetch`) and the figures rendered on idle cores (`renderer`)."""

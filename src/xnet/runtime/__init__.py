"""Process-level speed machinery, behind one switch (`XNET_SPEED_OFF`, `xnet.runtime.switch`):
start-up (`startup`) and the cores a process may use (`cores`); the data figures drawn beside the
fit are `xnet.plotting.figure_cache.draw_ahead`."""

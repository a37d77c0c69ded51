"""Long-running adapters: the SAMP daemon, its job queue and the loopback HTTP service."""

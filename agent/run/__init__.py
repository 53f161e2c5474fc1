"""A run of tend on this host, from lock to report: one converge, or the timer's cycle around it."""

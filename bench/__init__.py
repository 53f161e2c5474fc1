"""tend's micro-benchmarks: `python -m bench` (or `make bench`); `--quick` for a smoke run, `--json FILE`."""

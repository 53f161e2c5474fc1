"""One module per workload; each has `run(settings: Settings) -> list[Result]` and is named in bench/__main__.py."""

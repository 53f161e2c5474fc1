"""The deployment pipeline: ordered stages (pipeline.yaml), signed release tags, fleet evidence, promotion."""

PIPELINE = "pipeline.yaml"  # at the repository's top; a repository without one has no pipeline

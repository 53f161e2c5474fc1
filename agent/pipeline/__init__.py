"""The deployment pipeline: ordered stages (pipeline.yaml), signed release tags, fleet evidence, promotion."""

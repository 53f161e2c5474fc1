"""The catalog: a host's resources compiled from classes and data, with their relationships and order."""

"""tend: a masterless configuration-management agent."""

__version__ = "0.1.0"

"""Bundles: signed commits of the control repository, pulled, verified, checked out and switched to."""

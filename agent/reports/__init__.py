"""Run reports: the model, its JSON and text forms, and their storage under the state directory."""

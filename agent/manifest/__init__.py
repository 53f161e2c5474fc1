"""Manifests: classes as written in manifests/<class>.yaml, each declaration with its file and line."""

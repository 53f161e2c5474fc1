"""The daemon: runs on an interval with a random splay, backs off after failures, reloads on SIGHUP."""

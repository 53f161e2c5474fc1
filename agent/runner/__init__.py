"""The apply loop: inspect, diff, change (unless noop), record; refreshes, skipping, drift state."""

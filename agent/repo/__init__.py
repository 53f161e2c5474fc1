"""The control repository: where its parts are, and the inventory of hosts and admins."""

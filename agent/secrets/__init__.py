"""Secrets value by value: ENC[GPG,...] values, OpenPGP packets, keyrings, Secret and taint, the host's reader."""

"""Secrets: ENC[GPG,...] values, OpenPGP packet headers, recipients and keys, without running gpg."""

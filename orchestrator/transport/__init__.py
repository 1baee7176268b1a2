"""Transports: how a rendered script reaches a host. See base.py for the protocol every transport keeps."""

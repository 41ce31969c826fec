"""Containers: OCI runtime config, the runc driver, the monitor and the lifecycle service."""

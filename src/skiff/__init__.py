"""skiff: a daemonless container engine (OCI images, Dockerfile builds, runc containers).

The library is the product; the ``skiff`` CLI, the registry server and (later) the Docker
Engine API server are front ends over it. See DESIGN.md for the layout.
"""

__version__ = "0.1.0"

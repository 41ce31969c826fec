"""Moving images to and from registries: the client (``client``) and the server (``server``)."""

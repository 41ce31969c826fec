"""The ``skiff`` command line: a table of commands, each loaded only when it runs.

``COMMANDS`` maps a top-level command to ``(module, function, summary)``; ``GROUPS`` maps a
management command (``image``, ``container``, ...) to its own table of subcommands. Both of
Docker's spellings point at the same function (``skiff images`` = ``skiff image ls``).
A command function has the signature ``fn(ctx: Context, argv: list[str]) -> int``.

Nothing here imports more than this table: ``skiff --help`` pays for no command module.
See ``cli/README.md`` for how to add a command.
"""

from __future__ import annotations

Entry = tuple[str, str, str]  # (module under skiff.cli, function name, one-line summary)

COMMANDS: dict[str, Entry] = {
    "version": ("version", "version", "Show the skiff version information"),
    # store: images
    "images": ("image", "images", "List images"),
    "import": ("image", "import_", "Import the contents from a tarball to create a filesystem image"),
    "tag": ("image", "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "rmi": ("image", "rmi", "Remove one or more images"),
    "inspect": ("container_query", "inspect", "Return low-level information on skiff objects"),
    "history": ("image", "history", "Show the history of an image"),
    "save": ("image", "save", "Save one or more images to a tar archive"),
    "load": ("image", "load", "Load an image from a tar archive or STDIN"),
    # registry client
    "pull": ("registry_client", "pull", "Download an image from a registry"),
    "push": ("registry_client", "push", "Upload an image to a registry"),
    "login": ("registry_client", "login", "Log in to a registry"),
    "logout": ("registry_client", "logout", "Log out from a registry"),
    # runtime: containers
    "create": ("container", "create", "Create a new container"),
    "run": ("container", "run", "Create and run a new container from an image"),
    "start": ("container", "start", "Start one or more stopped containers"),
    "stop": ("container", "stop", "Stop one or more running containers"),
    "kill": ("container", "kill", "Kill one or more running containers"),
    "rm": ("container", "rm", "Remove one or more containers"),
    "restart": ("container", "restart", "Restart one or more containers"),
    "wait": ("container", "wait", "Block until one or more containers stop, then print their exit codes"),
    "pause": ("container", "pause", "Pause all processes within one or more containers"),
    "unpause": ("container", "unpause", "Unpause all processes within one or more containers"),
    "rename": ("container", "rename", "Rename a container"),
    "ps": ("container_query", "ps", "List containers"),
    "logs": ("container_query", "logs", "Fetch the logs of a container"),
    "exec": ("container_ops", "exec_", "Execute a command in a running container"),
    "top": ("container_ops", "top", "Display the running processes of a container"),
    "cp": ("container_ops", "cp", "Copy files/folders between a container and the local filesystem"),
    "diff": ("container_ops", "diff", "Inspect changes to files or directories on a container's filesystem"),
    "export": ("container_ops", "export", "Export a container's filesystem as a tar archive"),
    "stats": ("container_ops", "stats", "Display a live stream of container(s) resource usage statistics"),
    "port": ("network", "port", "List port mappings or a specific mapping for the container"),
    "attach": ("container_ops", "attach", "Attach local standard input, output, and error streams to a running container"),
    "commit": ("container_ops", "commit", "Create a new image from a container's changes"),
    # build
    "build": ("build", "build", "Build an image from a Dockerfile"),
}

GROUPS: dict[str, tuple[str, dict[str, Entry]]] = {
    "system": ("Manage skiff", {
        "check": ("system", "check", "Verify every blob's digest and every image reference"),
        "df": ("system", "df", "Show skiff disk usage"),
        "prune": ("system", "prune", "Remove unused data"),
    }),
    "image": ("Manage images", {
        "ls": ("image", "images", "List images"),
        "import": ("image", "import_", "Import the contents from a tarball to create a filesystem image"),
        "tag": ("image", "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
        "rm": ("image", "rmi", "Remove one or more images"),
        "inspect": ("image", "image_inspect", "Display detailed information on one or more images"),
        "history": ("image", "history", "Show the history of an image"),
        "prune": ("image", "prune", "Remove unused images"),
        "save": ("image", "save", "Save one or more images to a tar archive"),
        "load": ("image", "load", "Load an image from a tar archive or STDIN"),
        "pull": ("registry_client", "pull", "Download an image from a registry"),
        "push": ("registry_client", "push", "Upload an image to a registry"),
        "build": ("build", "build", "Build an image from a Dockerfile"),
    }),
    "builder": ("Manage builds", {
        "build": ("build", "build", "Build an image from a Dockerfile"),
        "prune": ("build", "builder_prune", "Remove build cache"),
    }),
    "dockerfile": ("Parse and check Dockerfiles", {
        "parse": ("dockerfile", "parse", "Parse a Dockerfile and print its syntax tree"),
        "check": ("dockerfile", "check", "Check a Dockerfile against best practices"),
    }),
    "registry": ("Run and manage skiff's own image registry", {
        "serve": ("registry", "serve", "Run an OCI distribution registry"),
        "gc": ("registry", "gc", "Remove unreferenced blobs from a registry's storage"),
    }),
    "container": ("Manage containers", {
        "create": ("container", "create", "Create a new container"),
        "run": ("container", "run", "Create and run a new container from an image"),
        "start": ("container", "start", "Start one or more stopped containers"),
        "stop": ("container", "stop", "Stop one or more running containers"),
        "kill": ("container", "kill", "Kill one or more running containers"),
        "rm": ("container", "rm", "Remove one or more containers"),
        "restart": ("container", "restart", "Restart one or more containers"),
        "wait": ("container", "wait", "Block until one or more containers stop, then print their exit codes"),
        "pause": ("container", "pause", "Pause all processes within one or more containers"),
        "unpause": ("container", "unpause", "Unpause all processes within one or more containers"),
        "rename": ("container", "rename", "Rename a container"),
        "logs": ("container_query", "logs", "Fetch the logs of a container"),
        "ls": ("container_query", "ps", "List containers"),
        "ps": ("container_query", "ps", "List containers"),
        "inspect": ("container_query", "container_inspect", "Display detailed information on one or more containers"),
        "exec": ("container_ops", "exec_", "Execute a command in a running container"),
        "top": ("container_ops", "top", "Display the running processes of a container"),
        "cp": ("container_ops", "cp", "Copy files/folders between a container and the local filesystem"),
        "diff": ("container_ops", "diff", "Inspect changes to files or directories on a container's filesystem"),
        "export": ("container_ops", "export", "Export a container's filesystem as a tar archive"),
        "stats": ("container_ops", "stats", "Display a live stream of container(s) resource usage statistics"),
        "port": ("network", "port", "List port mappings or a specific mapping for the container"),
        "attach": ("container_ops", "attach", "Attach local standard input, output, and error streams to a running container"),
        "commit": ("container_ops", "commit", "Create a new image from a container's changes"),
        "prune": ("container", "prune", "Remove all stopped containers"),
    }),
    "volume": ("Manage volumes", {
        "create": ("volume", "create", "Create a volume"),
        "ls": ("volume", "ls", "List volumes"),
        "inspect": ("volume", "inspect", "Display detailed information on one or more volumes"),
        "rm": ("volume", "rm", "Remove one or more volumes"),
        "prune": ("volume", "prune", "Remove unused local volumes"),
    }),
    "network": ("Manage networks", {
        "create": ("network", "create", "Create a network"),
        "ls": ("network", "ls", "List networks"),
        "inspect": ("network", "inspect", "Display detailed information on one or more networks"),
        "rm": ("network", "rm", "Remove one or more networks"),
        "prune": ("network", "prune", "Remove all unused networks"),
        "connect": ("network", "connect", "Connect a container to a network"),
        "disconnect": ("network", "disconnect", "Disconnect a container from a network"),
    }),
}

# Subcommand aliases accepted in every group, as Docker's CLI does.
SUB_ALIASES = {"list": "ls", "remove": "rm"}

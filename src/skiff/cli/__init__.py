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
    "pull": ("registry_client", "pull", "Download an image from a registry"),
    "push": ("registry_client", "push", "Upload an image to a registry"),
    "login": ("registry_client", "login", "Log in to a registry"),
    "logout": ("registry_client", "logout", "Log out from a registry"),
}

GROUPS: dict[str, tuple[str, dict[str, Entry]]] = {
    "system": ("Manage skiff", {}),
    "image": ("Manage images", {
        "pull": ("registry_client", "pull", "Download an image from a registry"),
        "push": ("registry_client", "push", "Upload an image to a registry"),
    }),
}

# Subcommand aliases accepted in every group, as Docker's CLI does.
SUB_ALIASES = {"list": "ls", "remove": "rm"}

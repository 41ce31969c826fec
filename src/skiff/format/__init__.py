"""Output formatting shared by every command: Go templates, human units, tables.

- :mod:`skiff.format.gotemplate`: ``render(template, data)`` for ``--format`` (Go
  text/template semantics, Docker's functions, ``table`` prefix), ``render_list``.
- :mod:`skiff.format.humanize`: ``human_size``, ``bytes_size``, ``human_duration``,
  ``time_ago``, ``status_text`` (``docker ps`` STATUS), RFC 3339 timestamps.
- :mod:`skiff.format.table`: ``render(rows, columns)`` (Docker's column layout),
  ``tabwrite`` (Go's tabwriter with docker/cli's settings).
- :mod:`skiff.format.gofmt`: Go's ``fmt`` (``%v``, printf) and ``encoding/json`` output.
- :mod:`skiff.format.tmplparse` (lexer, parser) and :mod:`skiff.format.tmplfuncs` (the
  template functions) are gotemplate's parts.

Import the submodule you need; this package imports nothing (CLI start-up time).
"""

"""``--log-driver`` / ``--log-opt``: the container's HostConfig.LogConfig and the json-file
log's rotation, as docker 20.10 (docker/cli opts, dockerd daemon/logger: jsonfilelog,
loggerutils.LogFile).

Drivers: ``json-file`` (the default; ``<bundle>/<id>-json.log``), ``local``
(skiff.runtime.locallog: dockerd's frames, its defaults 20 MiB x 5 files compressed) and
``none`` (no log: LogPath is "", ``logs`` refuses). Other drivers dockerd knows (syslog,
journald, ...) are refused at create, an unknown name with dockerd's plugin lookup text.

json-file options (dockerd's ValidateLogOpt at create: ``unknown log opt 'x' for json-file
log driver``; their values are checked when the log is opened, at start: ``failed to
initialize logging driver: ...``): ``max-size`` (go-units FromHumanSize, decimal: ``1k`` is
1000 bytes) and ``max-file`` (default 1). Before each entry is written, a file that has
reached max-size is rotated: ``<log>.N-1`` → ``<log>.N`` ... ``<log>`` → ``<log>.1``,
keeping max-file files in all (max-file 1: the file is emptied); with ``compress=true``
the rotated ones are gzipped (``<log>.1.gz`` ...). ``logs`` reads the rotated files oldest
first (:func:`read`).
"""

from __future__ import annotations

import os

from skiff.errors import InvalidArgument, SkiffError

DRIVERS = ("json-file", "none", "local")
# the drivers dockerd 20.10 registers on Linux that skiff does not implement
_OTHER_DRIVERS = ("syslog", "journald", "gelf", "fluentd", "awslogs", "splunk",
                  "gcplogs", "logentries")
_JSON_OPTS = ("max-file", "max-size", "compress", "labels", "labels-regex", "env",
              "env-regex", "tag")


def log_config(driver: str | None, opts: tuple[str, ...] | list[str]) -> dict:
    """HostConfig.LogConfig ``{"Type", "Config"}`` of the flags (Config: a Go map, keys
    sorted).

    Raises:
        InvalidArgument: ``invalid logging opts for driver none`` (docker/cli), ``error
            looking up logging plugin foo: plugin "foo" not found``, ``unknown log opt
            'x' for json-file log driver`` (dockerd's).
    """
    driver = driver or "json-file"
    conf: dict[str, str] = {}
    for opt in opts:
        key, _, val = opt.partition("=")
        conf[key] = val
    if driver == "none" and conf:
        raise InvalidArgument(f"invalid logging opts for driver {driver}")
    if driver not in DRIVERS:
        if driver in _OTHER_DRIVERS:
            raise InvalidArgument(f"logging driver {driver}",
                                  "not supported by skiff (json-file or none)")
        raise InvalidArgument(f"error looking up logging plugin {driver}",
                              f'plugin "{driver}" not found')
    for key in conf:
        if driver == "json-file" and key not in _JSON_OPTS:
            raise InvalidArgument(f"unknown log opt '{key}' for {driver} log driver")
        if driver == "local" and key not in ("max-file", "max-size", "compress"):
            raise InvalidArgument(f"unknown log opt '{key}' for log driver {driver}")
    return {"Type": driver, "Config": dict(sorted(conf.items()))}


def rotation(lc: dict | None) -> tuple[int, int, bool]:
    """(max size in bytes or -1, max files, compress) of a json-file LogConfig, checked as
    dockerd does when it opens the log at start.

    Raises:
        SkiffError: ``failed to initialize logging driver: invalid size: 'bad'``,
            ``max-size must be a positive number``, ``max-file cannot be less than 1``,
            ``strconv.Atoi: parsing "x": invalid syntax``, ``compress cannot be true when
            max-file is less than 2 or max-size is not set``.
    """
    conf = (lc or {}).get("Config") or {}
    local = (lc or {}).get("Type") == "local"
    if local:  # (the local driver's defaults: 20 MiB, 5 files, compressed)
        conf = {"max-file": "5", "compress": "true", **conf}
    if not conf:
        return -1, 1, False
    what = "failed to initialize logging driver"
    cap = 20 * 1024 * 1024 if local else -1
    if "max-size" in conf:
        from skiff.format.humanize import parse_size

        try:
            cap = parse_size(conf["max-size"])
        except InvalidArgument as e:
            raise SkiffError(what, str(e)) from None
        if cap <= 0:
            raise SkiffError(what, "max-size must be a positive number")
    files = 1
    if "max-file" in conf:
        text = conf["max-file"]
        try:
            files = int(text) if text.strip() == text and text.lstrip("+-").isdigit() else int("x")
        except ValueError:
            raise SkiffError(what, f'strconv.Atoi: parsing "{text}": invalid syntax') from None
        if files < 1:
            raise SkiffError(what, "max-file cannot be less than 1")
    if "compress" in conf:
        c = conf["compress"]
        if c not in ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false",
                     "False"):
            raise SkiffError(what, f'strconv.ParseBool: parsing "{c}": invalid syntax')
        if c in ("1", "t", "T", "TRUE", "true", "True"):
            if files == 1 or cap == -1:
                raise SkiffError(what, "compress cannot be true when max-file is less than 2 "
                                 "or max-size is not set")
            return cap, files, True
    return cap, files, False


def log_files(log_path: str) -> list[str]:
    """The json-file log's files, oldest first: ``<log>.N`` ... ``<log>.1``, ``<log>``
    (``<log>.N.gz`` when compressed)."""
    if not log_path:
        return []
    rotated = []
    n = 1
    while True:
        for name in (f"{log_path}.{n}", f"{log_path}.{n}.gz"):
            if os.path.exists(name):
                rotated.append(name)
                break
        else:
            break
        n += 1
    return [*reversed(rotated), log_path]


def read(log_path: str):
    """Every entry of the json-file log, across its rotated files (gzip ones too), oldest
    first. Yields jsonlog.Entry."""
    from skiff.runtime import jsonlog

    for path in log_files(log_path):
        if not path.endswith(".gz"):
            yield from jsonlog.read(path)
            continue
        import gzip

        from skiff import jsonio as json

        try:
            with gzip.open(path, "rb") as f:
                data = f.read()
        except (OSError, EOFError):
            continue
        for line in data.splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            yield jsonlog.Entry(d.get("stream", "stdout"), d.get("log", ""), d.get("time", ""))


class Rotator:
    """The monitor's json-file writer with rotation (only made when max-size is set)."""

    def __init__(self, path: str, fd: int, max_size: int, max_files: int,
                 compress: bool = False):
        self.path, self.fd, self.max_size, self.max_files = path, fd, max_size, max_files
        self.compress = compress
        self.size = os.fstat(fd).st_size

    def write_entry(self, entry: bytes) -> None:
        """Write one entry (any bytes: a local log's frame), rotating first if full."""
        from skiff.runtime.attachio import write_all

        if self.size >= self.max_size:
            self._rotate()
        write_all(self.fd, entry)
        self.size += len(entry)

    def write(self, data: bytes) -> None:
        """Write encoded entries (one a line), rotating before an entry as dockerd does."""
        from skiff.runtime.attachio import write_all

        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end + 1
            if self.size >= self.max_size:
                self._rotate()
            write_all(self.fd, data[start:end])
            self.size += end - start
            start = end

    def _rotate(self) -> None:
        os.close(self.fd)
        if self.max_files >= 2:
            ext = ".gz" if self.compress else ""
            for n in range(self.max_files - 1, 1, -1):
                try:
                    os.replace(f"{self.path}.{n - 1}{ext}", f"{self.path}.{n}{ext}")
                except FileNotFoundError:
                    pass
            os.replace(self.path, f"{self.path}.1")
            if self.compress:  # (dockerd: <log>.1.gz, the plain one removed)
                self._gzip(f"{self.path}.1")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC
                          | os.O_CLOEXEC, 0o640)
        self.size = 0


    @staticmethod
    def _gzip(path: str) -> None:
        import gzip
        import shutil

        with open(path, "rb") as src, gzip.open(path + ".gz.tmp", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.chmod(path + ".gz.tmp", 0o640)  # (as the log itself, dockerd's mode)
        os.replace(path + ".gz.tmp", path + ".gz")
        os.unlink(path)


def follow(path: str, offset: int, *, stop, poll: float = 0.05):
    """``logs -f`` of a rotating json-file log: entries from byte ``offset`` of ``path``
    on, going on in the new file after each rotation (as dockerd's follow); ends when
    ``stop()`` is true and everything written has been read. Yields jsonlog.Entry."""
    from skiff.runtime.jsonlog import follow as follow_json

    return follow_json(path, offset, stop=stop, poll=poll, rotating=True)

"""A push-mode tar structure checker: feed it the bytes of a tar as they stream past.

Used while a layer is being hashed and compressed, so a truncated or corrupt archive is
refused without reading it twice. Follows Go's archive/tar reader (what Docker uses):
header checksums must match; sizes come from the octal or base-256 field, or a PAX
``size`` record; link, symlink, device, directory and FIFO entries carry no data; a clean
end is the end-of-archive zero block or EOF right after a whole entry.
"""

from __future__ import annotations

from skiff.errors import InvalidArgument

BLOCK = 512
_NO_DATA = set(b"123456")


def _octal(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        n = field[0] & 0x7F
        for b in field[1:]:
            n = (n << 8) | b
        return n
    s = field.split(b"\0", 1)[0].strip(b" \0")
    if not s:
        return 0
    try:
        return int(s, 8)
    except ValueError:
        raise InvalidArgument("invalid tar archive", "archive/tar: invalid tar header") from None


class TarChecker:
    """Call :meth:`feed` with consecutive chunks, then :meth:`close`.

    Attributes:
        entries (int): file entries seen (PAX/GNU meta headers not counted).
        content_size (int): bytes the entries take once unpacked as Docker counts a layer's
            size (graphdriver directory.Size): regular file sizes plus symlink target
            lengths; directories, hardlinks and devices count 0.
    Raises InvalidArgument (``invalid tar archive: ...``) from feed/close on bad structure.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._skip = 0  # data bytes (incl. padding) still to pass over
        self._pax: bytearray | None = None  # collecting a PAX header's data
        self._pax_left = 0
        self._pax_size: int | None = None
        self._ended = False
        self._meta_type = 0
        self._pax_link: int | None = None  # length of a PAX/GNU long link name
        self.entries = 0
        self.content_size = 0

    def feed(self, data: bytes) -> None:
        if self._ended:
            return
        mv = memoryview(data)
        i = 0
        n = len(mv)
        while i < n and not self._ended:
            if self._skip:
                take = min(self._skip, n - i)
                if self._pax is not None and self._pax_left:
                    k = min(take, self._pax_left)
                    self._pax += mv[i:i + k]
                    self._pax_left -= k
                self._skip -= take
                i += take
                if not self._skip and self._pax is not None:
                    self._parse_pax(bytes(self._pax))
                    self._pax = None
                continue
            take = min(BLOCK - len(self._buf), n - i)
            self._buf += mv[i:i + take]
            i += take
            if len(self._buf) == BLOCK:
                self._header(bytes(self._buf))
                self._buf.clear()

    def _header(self, h: bytes) -> None:
        if h == b"\0" * BLOCK:
            self._ended = True
            return
        chk = _octal(h[148:156])
        calc = sum(h[:148]) + 8 * 32 + sum(h[156:])
        if chk != calc:
            raise InvalidArgument("invalid tar archive", "archive/tar: invalid tar header")
        typ = h[156]
        size = _octal(h[124:136])
        if typ in (ord("x"), ord("g"), ord("K")):
            self._pax = bytearray()
            self._pax_left = size
            self._meta_type = typ
        elif typ == ord("L"):
            pass
        else:
            self.entries += 1
            if self._pax_size is not None:
                size = self._pax_size
                self._pax_size = None
            link_len = self._pax_link
            self._pax_link = None
            if typ in _NO_DATA:
                if typ == ord("2"):
                    self.content_size += (link_len if link_len is not None
                                          else len(h[157:257].split(b"\0", 1)[0]))
                size = 0
            else:
                self.content_size += size
        self._skip = (size + BLOCK - 1) // BLOCK * BLOCK

    def _parse_pax(self, data: bytes) -> None:
        if self._meta_type == ord("K"):  # GNU long link name
            self._pax_link = len(data.split(b"\0", 1)[0])
            return
        pos = 0
        while pos < len(data):
            sp = data.find(b" ", pos)
            if sp < 0:
                break
            try:
                length = int(data[pos:sp])
            except ValueError:
                raise InvalidArgument("invalid tar archive", "archive/tar: invalid PAX record") from None
            if length <= 0:
                raise InvalidArgument("invalid tar archive", "archive/tar: invalid PAX record")
            rec = data[sp + 1:pos + length - 1]
            k, _, v = rec.partition(b"=")
            if k == b"size":
                self._pax_size = int(v)
            elif k == b"linkpath":
                self._pax_link = len(v)
            pos += length

    def close(self) -> None:
        """Check the archive ended cleanly (not inside a header or an entry's data)."""
        if self._ended:
            return
        if self._buf or self._skip or self._pax is not None:
            raise InvalidArgument("invalid tar archive", "unexpected EOF")

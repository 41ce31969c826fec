"""Lazily opened store services shared by the engine's long-lived objects.

:class:`StoreParts` gives a class with ``config`` (skiff.config.Config) and ``db`` (the
metadata connection) three properties — ``images``, ``snapshotter``, ``content`` — each made
on first use, so a command pays only for the parts it touches (start-up time is benchmarked).
A subclass may hand in ready-made parts by setting ``_images``, ``_snapshotter`` or
``_content`` before first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (not typing's: `run` starts faster without importing typing)
if TYPE_CHECKING:
    import sqlite3

    from skiff.config import Config
    from skiff.content import ContentStore
    from skiff.images import ImageService
    from skiff.snapshots import Snapshotter


class StoreParts:
    config: Config
    db: sqlite3.Connection
    _images: ImageService | None = None
    _snapshotter: Snapshotter | None = None
    _content: ContentStore | None = None

    @property
    def images(self) -> ImageService:
        """The image service over this config and database (skiff.images.ImageService)."""
        if self._images is None:
            from skiff.images import ImageService

            self._images = ImageService(self.config, self.db)
        return self._images

    @property
    def snapshotter(self) -> Snapshotter:
        """The overlay snapshotter over this config and database."""
        if self._snapshotter is None:
            from skiff.snapshots import Snapshotter

            self._snapshotter = Snapshotter(self.config, self.db)
        return self._snapshotter

    @property
    def content(self) -> ContentStore:
        """The content store at ``config.content_dir``."""
        if self._content is None:
            from skiff.content import ContentStore

            self._content = ContentStore(self.config.content_dir)
        return self._content

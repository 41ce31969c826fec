"""The image store: ImageService (names → images), import, save/load archives, prune.

Modules: ``model`` (Image, Layer, RemoveReport), ``service`` (ImageService), ``removal``
(rmi, prune, blob collection), ``importer``
(``docker import``), ``archive`` (``docker save``/``load``, OCI layouts), ``changes``
(``--change`` lines), ``tarcheck`` (streaming tar structure check), ``inspect`` (Docker's
JSON shapes), ``check`` (``system check``/``system df``).
"""

from __future__ import annotations

from skiff.images.model import Image, Layer, RemoveReport
from skiff.images.service import ImageService

__all__ = ["Image", "ImageService", "Layer", "RemoveReport"]

"""Image set metadata documents, fetched once per (image set, version) and kept in a small TTL cache."""

from __future__ import annotations

from .aws.healthimaging import HealthImaging
from .cache import TtlCache
from .dicom.document import ImageSetDocument
from .settings import Settings


class ImageSetDocuments:
    """The decoded metadata of image set versions. A version never changes, so a cached one is never stale;
    "the latest" is looked up on every call (GetImageSet) before the cache is asked."""

    def __init__(self, aws: HealthImaging, settings: Settings) -> None:
        self.aws = aws
        self.cache: TtlCache[tuple[str, str, str], ImageSetDocument] = TtlCache(
            settings.metadata_cache_entries, settings.metadata_cache_ttl_seconds
        )

    def latest_version(self, datastore_id: str, image_set_id: str) -> str:
        return self.aws.get_image_set(datastore_id, image_set_id)["versionId"]

    def cached(self, datastore_id: str, image_set_id: str, version_id: str) -> ImageSetDocument | None:
        """One version's document if it is in the cache, without any request."""
        return self.cache.get((datastore_id, image_set_id, version_id))

    def get(self, datastore_id: str, image_set_id: str, version_id: str | None = None) -> ImageSetDocument:
        """One version's document (the latest when `version_id` is None)."""
        version = version_id or self.latest_version(datastore_id, image_set_id)
        key = (datastore_id, image_set_id, version)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        document = ImageSetDocument.from_bytes(self.aws.get_image_set_metadata(datastore_id, image_set_id, version))
        self.cache.put(key, document)
        return document

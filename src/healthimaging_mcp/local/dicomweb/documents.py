"""Parsed image set documents, cached by their content-addressed blob key (a key's content never changes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ..store.blobs import BlobStore
from ..store.image_sets import read_document

DOCUMENTS_KEPT = 16


class DocumentCache:
    """The last few metadata documents read, so frames and instances of one series do not re-parse it."""

    def __init__(self, blobs: BlobStore, size: int = DOCUMENTS_KEPT) -> None:
        self.blobs = blobs
        self.size = size
        self._documents: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, metadata_blob: str) -> dict[str, Any]:
        with self._lock:
            cached = self._documents.get(metadata_blob)
            if cached is not None:
                self._documents.move_to_end(metadata_blob)
                return cached
        document = read_document(self.blobs, metadata_blob)
        with self._lock:
            self._documents[metadata_blob] = document
            while len(self._documents) > self.size:
                self._documents.popitem(last=False)
        return document

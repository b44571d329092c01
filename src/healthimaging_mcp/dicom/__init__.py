"""Pure DICOM metadata core: normalisation into HealthImaging levels, document views, summaries, patches.

No I/O happens here. Modules:

- ``levels``: which attribute lives at Patient / Study / Series / Instance level.
- ``keys``: metadata keys (keywords or 8-hex tags) ↔ tags.
- ``normalize``: pydicom Dataset → HealthImaging metadata JSON values.
- ``document``: typed read model over a GetImageSetMetadata document.
- ``summary``: search-summary ``DICOMTags`` and primary-hierarchy key elements.
- ``patch`` / ``merge``: UpdateImageSetMetadata and CopyImageSet on documents.
- ``values``: reading numbers from JSON numbers or padded DS/IS strings.
"""

from healthimaging_mcp.dicom.document import FrameRef, ImageSetDocument, InstanceView, SeriesView
from healthimaging_mcp.dicom.keys import keyword_or_hex, tag_of
from healthimaging_mcp.dicom.levels import PATIENT_TAGS, SERIES_TAGS, STUDY_TAGS, level_of
from healthimaging_mcp.dicom.normalize import NormalizationError, NormalizedInstance, normalize_instance
from healthimaging_mcp.dicom.patch import PatchError, apply_updates, merge_documents, select_instances
from healthimaging_mcp.dicom.summary import dicom_tags_summary, hierarchy_key_elements, key_element_conflicts
from healthimaging_mcp.dicom.values import as_float, as_floats, as_int, as_text

__all__ = [
    "PATIENT_TAGS",
    "SERIES_TAGS",
    "STUDY_TAGS",
    "FrameRef",
    "ImageSetDocument",
    "InstanceView",
    "NormalizationError",
    "NormalizedInstance",
    "PatchError",
    "SeriesView",
    "apply_updates",
    "as_float",
    "as_floats",
    "as_int",
    "as_text",
    "dicom_tags_summary",
    "hierarchy_key_elements",
    "key_element_conflicts",
    "keyword_or_hex",
    "level_of",
    "merge_documents",
    "normalize_instance",
    "select_instances",
    "tag_of",
]

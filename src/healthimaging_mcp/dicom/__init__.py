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

from __future__ import annotations

from healthimaging_mcp.lazy import lazy_exports

# Public names → defining module; imported on first access so that importing one light module (e.g. the
# document model used by the MCP server) does not pull in pydicom.
_EXPORTS = {
    "FrameRef": "document",
    "ImageSetDocument": "document",
    "InstanceView": "document",
    "SeriesView": "document",
    "keyword_or_hex": "keys",
    "tag_of": "keys",
    "PATIENT_TAGS": "levels",
    "SERIES_TAGS": "levels",
    "STUDY_TAGS": "levels",
    "level_of": "levels",
    "NormalizationError": "normalize",
    "NormalizedInstance": "normalize",
    "normalize_instance": "normalize",
    "PatchError": "patch",
    "apply_updates": "patch",
    "merge_documents": "patch",
    "select_instances": "patch",
    "dicom_tags_summary": "summary",
    "hierarchy_key_elements": "summary",
    "key_element_conflicts": "summary",
    "as_float": "values",
    "as_floats": "values",
    "as_int": "values",
    "as_text": "values",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


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

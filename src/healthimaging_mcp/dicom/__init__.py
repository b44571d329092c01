"""Pure DICOM metadata core: values, documents, views, search tags, patches, PHI rules. No I/O.

Modules:

- ``values``: the one reader of DICOM values (numbers, text, dates, lists, bytes; per frame for enhanced objects).
- ``keys``: metadata keys (keywords or 8-hex tags) ↔ tags, the data dictionary, the VR of a key.
- ``levels``: which attribute lives at Patient / Study / Series / Instance level.
- ``normalize``: pydicom Dataset → HealthImaging metadata JSON values.
- ``document``: typed read model over a GetImageSetMetadata document.
- ``views``: the metadata answers at three depths within an output budget, and their text.
- ``search_tags``: the search summary's ``DICOMTags`` and the length limits of searchable attributes.
- ``key_elements``: primary-hierarchy key elements (do imported data join an image set?).
- ``compare``: what changed between two versions of an image set.
- ``patch``, ``merge``: UpdateImageSetMetadata and CopyImageSet on documents, checked by ``patch_rules``
  and written through ``document_editor`` (copy-on-write).
- ``phi``, ``phi_rules``: pseudonyms for PHI in answers, and which keys carry PHI.
"""

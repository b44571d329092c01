"""Whole-patient and whole-study work: inventories and overviews, DICOM export, and plans (bulk changes and
erasure) that are computed without side effects, confirmed once, applied at the write quota and resumable."""

"""Pure DICOM metadata core: normalisation into HealthImaging levels, summaries, PHI. No I/O."""

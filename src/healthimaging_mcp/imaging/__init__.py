"""Pure image pipeline: decode stored frames, encode lossless HTJ2K / JPEG 2000, window, render. No I/O.

Modules:

- ``syntaxes``: transfer syntax facts (families, what HealthImaging stores each as).
- ``layout``: the Image Pixel module of one frame (``FrameLayout``).
- ``headers``: JPEG / JPEG 2000 codestream headers.
- ``native``: uncompressed and RLE frames.
- ``codecs``: decode one frame of any supported syntax, encode lossless, checksum.
- ``dataset_pixels``: the frames of a pydicom Dataset.
- ``lut``: Modality / VOI LUT sequence tables.
- ``window``: modality LUT (rescale, dose scaling) and VOI (windows, presets).
- ``palette``: PALETTE COLOR lookup tables.
- ``resample``: numpy resizing.
- ``render``: a frame as PNG / JPEG, windowed, with physical aspect and orientation letters.
- ``orientation``: patient orientation letters at the image edges.
- ``montage``: labelled contact sheets (and panels side by side).
- ``volume``: a series' frames as one voxel array, sorted along the slice normal, with its geometry and notes.
- ``reformat``: axial, coronal and sagittal planes and slabs (MIP, MinIP, mean) through a volume.
- ``measure``: region statistics, ROI masks, regions grown in 3-D.
- ``overlay``: measurements drawn over a displayed image.
- ``font``, ``png``: the bitmap font for labels, the fast PNG writer.

DICOM values are read with ``healthimaging_mcp.dicom.values``.
"""

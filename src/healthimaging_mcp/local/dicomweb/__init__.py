"""HealthImaging's DICOMweb APIs on the local service's listener: QIDO-RS search, WADO-RS retrieve, STOW-RS store.

`routes` tells DICOMweb paths from native ones, `router` admits and dispatches them; `index` keeps the search
tables in step with every image set write; `query`, `matching` and `qido` answer searches.
"""

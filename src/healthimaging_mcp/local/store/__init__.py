"""State: SQLite rows, content-addressed blobs, image set versions and frames, paging and search."""

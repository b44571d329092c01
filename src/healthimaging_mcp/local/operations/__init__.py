"""The operation handlers of datastores, image set reads and writes, and tags (import jobs: `imports/jobs.py`)."""

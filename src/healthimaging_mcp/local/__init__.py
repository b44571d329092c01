"""A HealthImaging-compatible local service that unmodified boto3 talks to over HTTP.

`http/` speaks the wire protocol (routes, binding, validation and errors from botocore's model, SigV4, rates);
`operations/` and `imports/jobs.py` hold one handler per operation, named as boto3 names it; `store/` keeps
state (SQLite rows, content-addressed blobs, image set versions); `imports/` turns files into image sets;
`samples/` makes the demo data. `backend.py` composes them, `service.py` serves them on a port.
"""

"""The AWS layer: cached boto3 clients, client-side pacing, and calls that raise typed errors."""

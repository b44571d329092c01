"""A HealthImaging-compatible local service that unmodified boto3 talks to over HTTP."""

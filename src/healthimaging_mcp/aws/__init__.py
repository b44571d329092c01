"""The AWS boundary: cached typed clients, typed HealthImaging calls with pacing, S3 reads, error mapping."""

"""Running the server for a team: who is calling (auth), what they did (audit), how it performs (telemetry)."""

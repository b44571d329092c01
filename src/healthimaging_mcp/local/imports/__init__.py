"""Import: one file → a checked instance (`ingest`), instances → image sets (`assembler`), batches and jobs."""

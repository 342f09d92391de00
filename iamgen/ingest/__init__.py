"""iamgen.ingest."""

"""iamgen.sources."""

"""iamgen.grants."""

"""iamgen.render."""

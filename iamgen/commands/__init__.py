"""One module per CLI command; ``iamgen.cli`` registers them."""

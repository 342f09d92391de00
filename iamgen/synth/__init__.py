"""iamgen.synth."""

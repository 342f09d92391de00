"""Data files shipped with iamgen (event overrides and other exceptions)."""

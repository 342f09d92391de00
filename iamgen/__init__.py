"""iamgen: least-privilege IAM policies from what AWS principals actually did."""

__version__ = "0.1.0"

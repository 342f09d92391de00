"""Permissions -> minimal IAM policy documents.

Use :func:`synthesize` with :class:`SynthSettings`; the result lists the
documents and every generalization made.
"""

from .settings import Compression, Fold, Generalization, SynthResult, SynthSettings
from .synthesize import synthesize

__all__ = [
    "Compression",
    "Fold",
    "Generalization",
    "SynthResult",
    "SynthSettings",
    "synthesize",
]

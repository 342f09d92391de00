"""Permissions -> minimal IAM policy documents.

Use :func:`synthesize` with :class:`SynthSettings`; the result lists the
documents and every generalization made (:mod:`.generalize` folds,
:mod:`.patterns` name patterns), split to fit IAM's size limits
(:mod:`.split`) and named (:mod:`.sids`); :mod:`.harden` adds conditions the
evidence supports. Pure.

May import: ``iamgen.model``, ``iamgen.catalog``, ``iamgen.arn``,
``iamgen.policy``, ``iamgen.grants.expand``, ``iamgen.errors``, ``iamgen.orphans``
(worker processes end with their run).
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

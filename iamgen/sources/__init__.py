"""Where trail files come from: one :class:`~.base.RecordSource` protocol.

Local files and folders (:mod:`.local`), S3 (:mod:`.s3`), the LookupEvents
API (:mod:`.lookup`), the account's own trail found for the user
(:mod:`.discover`); :mod:`.decode` reads a file's bytes into records or
reasons they were skipped. Sources list and read; they never decide what a
record means. The only package besides ``grants`` that talks to AWS
(clients made in :mod:`.aws`).

May import: ``iamgen.model``, ``iamgen.errors``, ``iamgen.grants.observable``,
``iamgen.user_json``.
"""

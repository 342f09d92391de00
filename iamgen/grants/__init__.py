"""Current grants: what a principal may do today.

:mod:`.load` reads them (an authorization-details file, policy files, or the
IAM API through a client passed in), :mod:`.expand` expands action patterns
against the catalog, :mod:`.evaluate` is iamgen's policy evaluator (allow,
deny, conditions from a request's context), :mod:`.observable` says which
calls CloudTrail can show at all.

May import: ``iamgen.model``, ``iamgen.catalog``, ``iamgen.arn``,
``iamgen.policy``, ``iamgen.user_json``, ``iamgen.errors``; boto3 only in
:mod:`.load` (its session settings from ``iamgen.sources.aws``).
"""

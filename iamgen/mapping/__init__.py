"""How one CloudTrail call maps to the IAM permissions it needed.

Pure and read as if it ran once per record: ``userIdentity`` -> principal
(:mod:`.identity`), a call -> :class:`~iamgen.model.Resolution`
(:func:`.resolve.resolve_call`), with the rule data (``iamgen/data/*.toml``)
loaded lazily by :mod:`.rules`. This is where a newcomer changes how an AWS
call maps to permissions; it holds no performance machinery.

May import: ``iamgen.model``, ``iamgen.catalog``, ``iamgen.arn``, ``iamgen.data``.
Never ``iamgen.scanning`` (which calls this package) nor anything later in the pipeline.
"""

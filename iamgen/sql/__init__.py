"""Reading a trail through SQL: one aggregation query, run where the data is.

:mod:`.query` builds the query from the rule data the resolver uses (one
definition; :mod:`.dialects` spells what Athena's Trino and DuckDB spell
differently); it filters and aggregates the CloudTrail table the AWS
documentation has Athena users create, and returns one row per distinct call
shape. :mod:`.rows` turns those rows back into records and adds them to a
:class:`~iamgen.scanning.tally.ScanResult` through the same methods the file
path uses, so graph, synthesis, diff and review see no difference.
:mod:`.athena` runs the query in Athena (clients passed in),
:mod:`.partitions` prunes by the table's partitions (from the Glue catalog),
:mod:`.duckdb_engine` runs it on this machine over files, and :mod:`.read`
puts each engine together.

May import: ``iamgen.model``, ``iamgen.mapping``, ``iamgen.scanning``,
``iamgen.sources``, ``iamgen.errors``. Never ``iamgen.commands``.
"""

"""Throughput machinery: trail files in, a :class:`~.tally.ScanResult` out.

Reads units from a :class:`~iamgen.sources.base.RecordSource`, folds them
with memo tables (:mod:`.fast`, :mod:`.memo`) or one record at a time
(:func:`.tally.scan_record`, the reference the fast path is tested against),
in worker processes when asked (:mod:`.scan`); or one result per file, kept
as its tallied outcomes (:mod:`.units`, :mod:`.outcomes`) for a store of
per-file results (:mod:`iamgen.store`). Every resolution comes from
:mod:`iamgen.mapping` through its public contract; nothing here decides what
a call needs.

Measured costs that shaped the mapping package's types: a frozen dataclass
takes about 0.9 µs to build and a named tuple 0.2 µs, so the per-call
:class:`~iamgen.mapping.call.Call` and ``CallerFacts`` are named tuples.

May import: ``iamgen.model``, ``iamgen.mapping``, ``iamgen.sources``, ``iamgen.catalog``,
``iamgen.grants.observable`` (which data events a trail records: :mod:`.coverage`) and
``iamgen.orphans`` (worker processes end with their run).
"""

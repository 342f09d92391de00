"""The store of per-file results (``--store PATH``): periodic reviews without
re-reading history.

One SQLite file (:mod:`.db`) keeps, for each trail file read, what was learned
from it (:mod:`iamgen.scanning.units`, encoded by :mod:`.codec`) under the
rules it was made with (:mod:`.rules`); a run takes what the store holds and
reads only the rest (:mod:`.plan` decides, :mod:`.read` does it), with the
output of a run without the store. :mod:`.syntheses` keeps principals'
policies as synthesized, so a rerun synthesizes none again. :mod:`.maintain`
and :mod:`.rebuild` are ``iamgen store``.

May import: ``iamgen.model``, ``iamgen.scanning``, ``iamgen.sources``,
``iamgen.catalog`` and ``iamgen`` (their versions), ``iamgen.errors``,
``iamgen.orphans`` and ``iamgen.synth`` (what :mod:`.syntheses` keeps).
"""

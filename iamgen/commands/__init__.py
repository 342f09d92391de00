"""One module per CLI command; ``iamgen.cli`` registers them.

The only place stages are wired together: read (:mod:`.reading`), build,
synthesize, diff, render, write. Shared option declarations and output-file
checks are in :mod:`.common`, the read every command starts with in
:mod:`.read_events`, the run summary in :mod:`.summary`.

May import anything in ``iamgen``; nothing in ``iamgen`` imports it but ``cli``.
"""

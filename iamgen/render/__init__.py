"""Rendering: every output's text, from the model objects the stages return.

Policies as canonical JSON, Terraform or CloudFormation (:mod:`.policies`,
with ``templates/``), diff and review reports (:mod:`.report`,
:mod:`.review`, :mod:`.ai_lens`), backtest results (:mod:`.backtest`);
helpers for names and widths, times and Markdown cells (:mod:`.text`), and the
reports' JSON text (:mod:`.json_text`).
Pure: text in, text out; the CLI writes it.

May import: the model and result types of the stages it renders
(``iamgen.model``, ``policy``, ``synth``, ``findings``, ``review``,
``ai_lens``, ``backtest``, ``grants.model``) and ``iamgen.errors``.
"""

from .policies import FORMATS, META_SUFFIX, RenderedFile, render_policies

__all__ = ["FORMATS", "META_SUFFIX", "RenderedFile", "render_policies"]

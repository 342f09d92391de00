"""Rendering: policy documents as JSON, Terraform or CloudFormation files."""

from .policies import FORMATS, META_SUFFIX, RenderedFile, render_policies

__all__ = ["FORMATS", "META_SUFFIX", "RenderedFile", "render_policies"]

"""Jinja2 templates for rendering policies and reports (shipped as iamgen.templates)."""

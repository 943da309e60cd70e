"""Sphinx configuration for the CoWorks documentation."""

project = "CoWorks"
author = "The CoWorks developers"
copyright = "2026, The CoWorks developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
nitpicky = False

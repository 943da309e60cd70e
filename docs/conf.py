"""Sphinx configuration for the CoWorks documentation."""

import sys
from pathlib import Path

# Local extensions: ``cwsdoc`` renders the help of every ``cws`` command.
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "CoWorks"
author = "The CoWorks developers"
copyright = "2026, The CoWorks developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "cwsdoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
nitpicky = False

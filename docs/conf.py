"""Sphinx configuration. Pages are Markdown (MyST); `hatch run docs` builds with -W."""

from redshift_async_backend import __version__

project = "redshift_async_backend"
author = "redshift_async_backend contributors"
release = __version__
version = __version__

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = f"redshift_async_backend {__version__}"

"""Sphinx configuration for streamchat's guide and API reference.

Built warning-free by tests/test_docs.py (sphinx-build -W); the reference is generated from
the docstrings of the streamchat found beside this folder, not an installed copy.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# After the path is set, so that the checkout's copy is the one documented.
import streamchat

project = "streamchat"
release = version = streamchat.__version__
copyright = "the streamchat authors"

extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # pydantic's own machinery, the same on every model.
    "exclude-members": "model_config, model_fields, model_computed_fields",
}

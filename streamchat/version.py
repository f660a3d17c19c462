"""The release number, in a module of its own so that any layer can name it without
importing the facade that lists every layer."""

__version__ = "0.1.0"

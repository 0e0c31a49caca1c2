"""flowbridge's readers, writers, project handling and command line."""

__version__ = "0.1.0"

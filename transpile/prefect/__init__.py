"""The Prefect side: Python flows read statically into the IR."""

from .reader import read_prefect_file, read_prefect_repo, read_prefect_source

__all__ = ["read_prefect_file", "read_prefect_repo", "read_prefect_source"]

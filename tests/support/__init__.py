"""Helpers shared by every test directory (fixtures are in ``tests.support.fixtures``, a pytest plugin)."""

from tests.support.queries import Queries, count_queries

__all__ = ["Queries", "count_queries"]

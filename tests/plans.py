"""PostgreSQL's plans of the statements a test saw the service send."""

from __future__ import annotations


def explained(engine, statement: str, params) -> dict:
    """PostgreSQL's plan of a statement as it ran (EXPLAIN ANALYZE, as JSON), rolled back."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        return cursor.fetchone()[0][0]["Plan"]
    finally:
        raw.rollback()
        raw.close()


def plan_nodes(node: dict):
    """A plan's node and every node under it."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)

"""The application layer: one place per use case, between the edges and the domain.

REST handlers, Dash callbacks, socket handlers and CLI commands in `console/` call these; each use
case takes the actor it acts for and does the access check, the storage (through `data/`), the audit
and the live publish (through `realtime/bus.py`). Nothing here knows Flask or Dash
(`pyproject.toml`'s import-linter contracts enforce it).
"""

"""Storage: settings, the database schema, migrations, repositories and importers. Maps rows to `dispatch` values."""

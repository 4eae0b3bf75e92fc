"""One module per page: layout + register(app, ...)."""

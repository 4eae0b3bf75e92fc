"""Travel times, road routes and (later) route planning. No storage, transport or UI."""

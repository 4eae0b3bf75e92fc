"""Position ingestion, Redis pub/sub, Socket.IO fan-out and the demo simulator."""

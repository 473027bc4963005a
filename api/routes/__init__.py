"""HTTP and WebSocket routes of the sidecar, one module per concern."""

"""reviews: an ASGI (Starlette) service with reader reviews; asks ratings over gRPC."""

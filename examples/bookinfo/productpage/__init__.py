"""productpage: the edge ASGI (Starlette) service; asks details and reviews."""

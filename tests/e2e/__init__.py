"""End-to-end tests of the bookinfo example: the runner, real services, a real Envoy."""

"""Tests of edge colouring: rules, matchers, middleware, gateway filter."""

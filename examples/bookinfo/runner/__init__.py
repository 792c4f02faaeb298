"""The local bookinfo runner: services as processes, a real Envoy, an OTLP receiver.

``python examples/bookinfo/run.py up|demo`` (see ``run.py``).
"""

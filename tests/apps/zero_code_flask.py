"""A Flask app with no lanectx code and no wrapper; it calls downstream with urllib.request.

Run as ``opentelemetry-instrument python zero_code_flask.py DOWNSTREAM_URL``; prints
``ready PORT`` once serving, stops on SIGINT. ``/hop`` answers what the downstream saw,
and the lane the view saw.
"""

import contextlib
import json
import sys
import urllib.request

from flask import Flask
from opentelemetry import baggage
from waitress.server import create_server

DOWNSTREAM = sys.argv[1]
app = Flask("zero-code")


@app.get("/hop")
def hop():
    with urllib.request.urlopen(DOWNSTREAM, timeout=10) as response:
        seen = json.loads(response.read())
    return {"lane": baggage.get_baggage("lane"), "urllib": seen}


server = create_server(app, host="127.0.0.1", port=0)
print("ready", server.effective_port, flush=True)
with contextlib.suppress(KeyboardInterrupt):
    server.run()

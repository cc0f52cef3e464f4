"""A receiver using the reference Standard Webhooks verifier (PyPI `standardwebhooks`).

Usage: SECRET=whsec_... PORT=... python sw_verifier.py
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

WH = Webhook(os.environ["SECRET"])
RESULTS = {"ok": 0, "bad": []}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            WH.verify(body, headers)
            RESULTS["ok"] += 1
            self.send_response(200)
        except Exception as e:  # noqa: BLE001 - any failure is a rejected delivery
            RESULTS["bad"].append(f"{headers.get('webhook-id')}: {e}")
            self.send_response(401)
        self.end_headers()

    def do_GET(self):
        data = json.dumps(RESULTS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    print("ready", flush=True)
    server.serve_forever()

"""A stand-in for the contract.fit application behind the gateway.

    python3 app.py PORT

`GET /admin/inboxes` lists the inboxes, `GET /inboxes/<inbox>/documents` an inbox's documents,
`GET /inboxes/<inbox>/documents/<document>` one document. It checks nothing itself: it answers
what the gateway forwards and records, for each request, the path and the X-Portcullis-User the
gateway set (`GET /__seen`, asked directly, never through the gateway).
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INBOXES = [
    {"id": "5f0c0ffee0000000000000a1", "name": "invoice"},
    {"id": "5f0c0ffee0000000000000b2", "name": "contracts"},
]
DOCUMENTS = {
    "5f0c0ffee0000000000000a1": ["60ddb937b260064252bd5a98", "60ddb937b260064252bd5a99"],
    "5f0c0ffee0000000000000b2": ["60ddb937b260064252bd5aa0"],
}
SEEN = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/__seen":
            with LOCK:
                return self.answer(200, SEEN)
        with LOCK:
            SEEN.append({"path": self.path, "user": self.headers.get("X-Portcullis-User"),
                         "credential": self.headers.get("X-Portcullis-Credential"),
                         "api_key_header": self.headers.get("X-API-Key")})
        parts = path.strip("/").split("/")
        if path == "/admin/inboxes":
            return self.answer(200, INBOXES)
        if len(parts) == 3 and parts[0] == "inboxes" and parts[2] == "documents":
            return self.answer(200, [{"id": d} for d in DOCUMENTS.get(parts[1], [])])
        if len(parts) == 4 and parts[0] == "inboxes" and parts[2] == "documents":
            return self.answer(200, {"id": parts[3], "inbox": parts[1], "status": "processed"})
        return self.answer(404, {"detail": "not found"})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("contract.fit stand-in on %s:%d" % server.server_address, flush=True)
    server.serve_forever()

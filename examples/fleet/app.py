"""The fleet example's upstream: answers `GET /api/reports/<report>[/export]` with what it was
asked and who the gateway said was asking (X-Portcullis-User or -Key-Id).

    python3 app.py PORT [ADDRESS]    (ADDRESS: default 127.0.0.1; 0.0.0.0 in compose.yaml)
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        data = json.dumps({
            "path": self.path,
            "for": self.headers.get("X-Portcullis-User") or self.headers.get("X-Portcullis-Key-Id"),
            "action": self.headers.get("X-Portcullis-Action"),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    address = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    ThreadingHTTPServer((address, int(sys.argv[1])), Handler).serve_forever()

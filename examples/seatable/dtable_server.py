"""A stand-in for SeaTable's dtable-server (and dtable-db), enough for the example.

    python3 dtable_server.py PORT

Rows live in memory per base. It answers the paths the official `seatable-api` client calls:
`GET .../rows/` (`{"rows": [...]}`), `POST .../rows/` (append), `GET .../metadata/`, and dtable-db's
`POST /dtable-db/api/v1/query/<uuid>/`, under `/dtable-server/api/v1/dtables/<uuid>/` and
`/api-gateway/api/v2/dtables/<uuid>/` alike. It trusts the gateway: it never checks a token, it
records what each request carried (`GET /__seen` lists them, method, path and the headers that
matter), and it never sees a request the gateway refused.
"""

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROWS = {}  # base uuid -> rows
SEEN = []
LOCK = threading.Lock()
BASE_PATH = re.compile(
    r"^/(?:dtable-server/api/v1/dtables|api-gateway/api/v2/dtables|dtable-db/api/v1/query)/([0-9a-f-]{36})/(.*)$"
)
SHOWN = ("authorization", "x-portcullis-credential", "x-portcullis-key-id", "x-portcullis-user",
         "x-portcullis-resource-base", "x-portcullis-module", "x-portcullis-action")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        path = self.path.split("?")[0]
        if path == "/__seen":
            with LOCK:
                return self.answer(200, SEEN)
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() in SHOWN}
        with LOCK:
            SEEN.append({"method": self.command, "path": self.path, "headers": headers})
        m = BASE_PATH.match(path)
        if not m:
            return self.answer(404, {"error_msg": "not found"})
        base, rest = m.groups()
        with LOCK:
            rows = ROWS.setdefault(base, [{"_id": "r1", "Name": "first"}, {"_id": "r2", "Name": "second"}])
            if path.startswith("/dtable-db/"):
                wanted = [{"Name": r["Name"]} for r in rows]
                return self.answer(200, {"success": True, "metadata": [{"key": "Name", "name": "Name", "type": "text"}],
                                         "results": wanted})
            if rest == "rows/" and self.command == "GET":
                return self.answer(200, {"rows": rows})
            if rest == "rows/" and self.command == "POST":
                added = []
                for row in body.get("rows") or [body.get("row", {})]:  # api-gateway: a list
                    added.append(dict(row, _id="r%d" % (len(rows) + 1)))
                    rows.append(added[-1])
                if "rows" in body:
                    return self.answer(200, {"inserted_row_count": len(added), "first_row": added[0]})
                return self.answer(200, added[0])
            if rest == "metadata/":
                return self.answer(200, {"metadata": {"tables": [{"name": "Table1", "columns": [
                    {"key": "0000", "name": "Name", "type": "text"}]}]}})
        return self.answer(404, {"error_msg": "not found"})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("dtable-server stand-in on %s:%d" % server.server_address, flush=True)
    server.serve_forever()

# The receiving end of the agent's notifications (--notify-url): each
# POSTed body appended, one a line, to FILE.
#   notify-receiver.py PORT FILE     (listens on 127.0.0.1:PORT)
# Started by lib.sh's notify_receiver_start.
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()

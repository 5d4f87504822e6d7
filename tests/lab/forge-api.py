#!/usr/bin/env python3
"""A recording stand-in for a forge's REST API (no forge runs offline here).

It answers the calls `shoal review` (and the agent's commit statuses) make,
as GitHub, Gitea/Forgejo or GitLab document them, and checks every request
against that documentation: method and path, authentication header, the
headers the forge requires, query parameters, JSON fields, their types and
values, required fields.  A request that breaks a rule is answered as the
forge answers it (401, 404, 422, 400) and the violation is recorded.

  forge-api.py --forge github|gitea|gitlab --listen HOST:PORT --token T
               --repo OWNER/NAME|PROJECT_ID --pr N [--job-token T]
               [--seed N] [--log FILE]

GET /__state (no authentication) returns what was recorded: every request
(its authentication shown as "ok" or "bad", never the value), violations,
comments and statuses.
"""
import argparse
import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = argparse.ArgumentParser()
A.add_argument("--forge", required=True, choices=["github", "gitea", "gitlab"])
A.add_argument("--listen", required=True)
A.add_argument("--token", required=True)
A.add_argument("--job-token", default=None)
A.add_argument("--repo", required=True)
A.add_argument("--pr", type=int, required=True)
A.add_argument("--seed", type=int, default=0, help="comments by others, before the run")
A.add_argument("--log", default=None)
ARGS = A.parse_args()

LOCK = threading.Lock()
STATE = {"requests": [], "violations": [], "comments": [], "statuses": []}
NEXT_ID = [1000]
SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")


def new_id():
    NEXT_ID[0] += 1
    return NEXT_ID[0]


def seed():
    for i in range(ARGS.seed):
        c = {"id": new_id(), "body": "review comment %d by someone" % i, "user": "someone"}
        if ARGS.forge == "gitlab":
            # GitLab lists system notes among the others ("added 1 commit")
            c["system"] = i % 10 == 0
        STATE["comments"].append(c)


seed()

# what each forge documents, per endpoint: fields -> (type, required)
STATUS_FIELDS = {
    "github": {"state": (str, True), "target_url": (str, False), "description": (str, False), "context": (str, False)},
    "gitea": {"state": (str, True), "target_url": (str, False), "description": (str, False), "context": (str, False)},
    "gitlab": {"state": (str, True), "ref": (str, False), "name": (str, False), "context": (str, False),
               "target_url": (str, False), "description": (str, False), "coverage": ((int, float), False),
               "pipeline_id": (int, False)},
}
STATES = {
    "github": {"error", "failure", "pending", "success"},
    "gitea": {"pending", "success", "error", "failure", "warning"},
    "gitlab": {"pending", "running", "success", "failed", "canceled", "skipped"},
}
NOTE_CREATE = {"body": (str, True), "internal": (bool, False), "created_at": (str, False),
               "merge_request_diff_head_sha": (str, False)}
BODY_MAX = {"github": 65536, "gitea": 1 << 20, "gitlab": 1000000}


class Reject(Exception):
    def __init__(self, status, message, violation=True):
        super().__init__(message)
        self.status, self.message, self.violation = status, message, violation


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    # ---- plumbing ----
    def answer(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if u.path == "/__state":
            with LOCK:
                return self.answer(200, STATE)
        rec = {"method": method, "path": u.path, "query": u.query, "body": raw.decode("utf-8", "replace"),
               "headers": {k: v for k, v in self.headers.items()
                           if k.lower() not in ("authorization", "private-token", "job-token")}}
        violations = []
        try:
            rec["auth"] = self.check_common(u, q, raw, violations)
            status, obj, headers = self.route(method, u.path, q, raw, violations)
        except Reject as r:
            if r.violation:
                violations.append(r.message)
            status, obj, headers = r.status, self.error_body(r.status, r.message), {}
        if violations and status < 400:
            status, obj, headers = (400 if ARGS.forge == "gitlab" else 422), self.error_body(422, "; ".join(violations)), {}
        rec["status"] = status
        rec["violations"] = violations
        with LOCK:
            STATE["requests"].append(rec)
            STATE["violations"].extend("%s %s: %s" % (method, u.path, v) for v in violations)
            if ARGS.log:
                with open(ARGS.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
        self.answer(status, obj, headers)

    def error_body(self, status, message):
        if ARGS.forge == "gitlab":
            return {"message": message if status != 401 else "401 Unauthorized"}
        return {"message": message, "documentation_url": "https://docs.example/rest"}

    do_GET = lambda self: self.handle_any("GET")
    do_POST = lambda self: self.handle_any("POST")
    do_PATCH = lambda self: self.handle_any("PATCH")
    do_PUT = lambda self: self.handle_any("PUT")
    do_DELETE = lambda self: self.handle_any("DELETE")

    # ---- every request ----
    def check_common(self, u, q, raw, violations):
        tok = ARGS.token
        if tok in self.path or (ARGS.job_token and ARGS.job_token in self.path):
            violations.append("a token in the URL")
        h = self.headers
        if ARGS.forge == "github":
            auth = h.get("Authorization", "")
            if auth not in ("Bearer " + tok, "token " + tok):
                raise Reject(401, "Bad credentials", violation=False)
            if h.get("Accept") != "application/vnd.github+json":
                violations.append("Accept: application/vnd.github+json expected, got %r" % h.get("Accept"))
            if h.get("X-GitHub-Api-Version") not in (None, "2022-11-28"):
                violations.append("X-GitHub-Api-Version %r is not a supported version" % h.get("X-GitHub-Api-Version"))
            if not h.get("User-Agent"):
                # GitHub: "All API requests MUST include a valid User-Agent header"
                raise Reject(403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
        elif ARGS.forge == "gitea":
            if h.get("Authorization", "") != "token " + tok:
                raise Reject(401, "token is required", violation=False)
        else:
            if h.get("PRIVATE-TOKEN") == tok or h.get("Authorization") == "Bearer " + tok:
                pass
            elif ARGS.job_token and h.get("JOB-TOKEN") == ARGS.job_token:
                # the job token may call neither notes nor commit statuses
                raise Reject(401, "401 Unauthorized", violation=False)
            else:
                raise Reject(401, "401 Unauthorized", violation=False)
        if raw:
            ct = (h.get("Content-Type") or "").split(";")[0].strip()
            if ct != "application/json":
                violations.append("a JSON body sent as %r" % h.get("Content-Type"))
        return "ok"

    def json_body(self, raw, fields, violations):
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise Reject(400, "Problems parsing JSON: %s" % e)
        if not isinstance(obj, dict):
            raise Reject(400, "the body is not a JSON object")
        for k, v in obj.items():
            if k not in fields:
                violations.append("field %r is not documented for this endpoint" % k)
            elif not isinstance(v, fields[k][0]) or isinstance(v, bool) and fields[k][0] is not bool:
                violations.append("field %r must be %s, got %r" % (k, fields[k][0], type(v).__name__))
        for k, (t, req) in fields.items():
            if req and k not in obj:
                violations.append("required field %r missing" % k)
        return obj

    def only_params(self, q, allowed, violations):
        for k in q:
            if k not in allowed:
                violations.append("query parameter %r is not documented for this endpoint" % k)

    def int_param(self, q, name, default, lo, hi, violations):
        if name not in q:
            return default
        try:
            v = int(q[name][0])
        except ValueError:
            violations.append("%s=%r is not a number" % (name, q[name][0]))
            return default
        if not lo <= v <= hi:
            violations.append("%s=%d outside %d..%d" % (name, v, lo, hi))
        return max(lo, min(v, hi))

    # ---- endpoints ----
    def route(self, method, path, q, raw, violations):
        f = ARGS.forge
        if f == "gitlab":
            pid = urllib.parse.quote(ARGS.repo, safe="")
            base = "/api/v4/projects/(?:%s|%s)" % (re.escape(ARGS.repo), re.escape(pid))
            m_status = re.fullmatch(base + r"/statuses/(?P<sha>[^/]+)", path)
            m_list = re.fullmatch(base + r"/merge_requests/(?P<n>\d+)/notes", path)
            m_edit = re.fullmatch(base + r"/merge_requests/(?P<n>\d+)/notes/(?P<id>\d+)", path)
        else:
            prefix = "/api/v1" if f == "gitea" else ""
            base = prefix + "/repos/" + re.escape(ARGS.repo)
            m_status = re.fullmatch(base + r"/statuses/(?P<sha>[^/]+)", path)
            m_list = re.fullmatch(base + r"/issues/(?P<n>\d+)/comments", path)
            m_edit = re.fullmatch(base + r"/issues/comments/(?P<id>\d+)", path)
        if m_status and method == "POST":
            return self.status(m_status.group("sha"), q, raw, violations)
        if m_list and method == "GET":
            self.need_pr(m_list.group("n"))
            return self.list_comments(q, violations)
        if m_list and method == "POST":
            self.need_pr(m_list.group("n"))
            self.only_params(q, [], violations)
            return self.create_comment(raw, violations)
        if m_edit and method == ("PUT" if f == "gitlab" else "PATCH"):
            if f == "gitlab":
                self.need_pr(m_edit.group("n"))
            self.only_params(q, [], violations)
            return self.edit_comment(int(m_edit.group("id")), raw, violations)
        raise Reject(404, "Not Found: %s %s is not an endpoint of the %s API" % (method, path, f))

    def need_pr(self, n):
        if int(n) != ARGS.pr:
            raise Reject(404, "Not Found: no pull request %s" % n)

    def status(self, sha, q, raw, violations):
        f = ARGS.forge
        if not SHA.match(sha):
            violations.append("%r is not a full commit ID" % sha)
        self.only_params(q, [], violations)
        obj = self.json_body(raw, STATUS_FIELDS[f], violations)
        st = obj.get("state")
        if st not in STATES[f]:
            violations.append("state %r is not one of %s" % (st, sorted(STATES[f])))
        d = obj.get("description")
        if f == "github" and isinstance(d, str) and len(d) > 140:
            violations.append("description is too long (maximum is 140 characters), got %d" % len(d))
        t = obj.get("target_url")
        if isinstance(t, str) and not re.match(r"^https?://[^/\s]+", t):
            violations.append("target_url %r is not a URL" % t)
        if f == "gitlab" and "name" in obj and "context" in obj:
            violations.append("both name and context: they are one field")
        name = obj.get("name", obj.get("context", "default"))
        if violations:
            return 422, {}, {}
        with LOCK:
            if f == "gitlab":
                # a status (sha, name) that is pending or running cannot
                # "transition" to the state it has
                prev = [s for s in STATE["statuses"] if s["sha"] == sha and s["name"] == name]
                if prev and prev[-1]["state"] == st and st in ("pending", "running"):
                    ev = "enqueue" if st == "pending" else "run"
                    raise Reject(400, 'Cannot transition status via :%s from :%s (Reason(s): Status cannot transition via "%s")'
                                 % (ev, st, ev), violation=False)
            rec = {"id": new_id(), "sha": sha, "state": st, "name": name, "description": d, "target_url": t}
            STATE["statuses"].append(rec)
        if f == "gitlab":
            return 201, {"id": rec["id"], "sha": sha, "ref": obj.get("ref"), "status": st, "name": name,
                         "target_url": t, "description": d, "allow_failure": False}, {}
        return 201, {"id": rec["id"], "state": st, "context": name, "description": d, "target_url": t,
                     "url": "https://forge.invalid/statuses/%d" % rec["id"]}, {}

    def shown(self, c):
        if ARGS.forge == "gitlab":
            return {"id": c["id"], "body": c["body"], "author": {"username": c["user"]}, "system": c.get("system", False),
                    "noteable_type": "MergeRequest", "noteable_iid": ARGS.pr, "resolvable": False}
        return {"id": c["id"], "body": c["body"], "user": {"login": c["user"]},
                "html_url": "https://forge.invalid/pull/%d#comment-%d" % (ARGS.pr, c["id"])}

    def list_comments(self, q, violations):
        f = ARGS.forge
        with LOCK:
            all_ = list(STATE["comments"])
        if f == "gitea":
            # GET /repos/{owner}/{repo}/issues/{index}/comments: since, before; one answer
            self.only_params(q, ["since", "before"], violations)
            return 200, [self.shown(c) for c in all_], {"X-Total-Count": str(len(all_))}
        if f == "github":
            self.only_params(q, ["since", "per_page", "page"], violations)
            per = self.int_param(q, "per_page", 30, 1, 100, violations)
        else:
            self.only_params(q, ["sort", "order_by", "per_page", "page"], violations)
            per = self.int_param(q, "per_page", 20, 1, 100, violations)
            if q.get("sort", ["desc"])[0] not in ("asc", "desc"):
                violations.append("sort must be asc or desc")
            if q.get("order_by", ["created_at"])[0] not in ("created_at", "updated_at"):
                violations.append("order_by must be created_at or updated_at")
            if q.get("sort", ["desc"])[0] == "desc":
                all_.reverse()
        page = self.int_param(q, "page", 1, 1, 10 ** 6, violations)
        pages = max(1, (len(all_) + per - 1) // per)
        items = all_[(page - 1) * per: page * per]
        host = self.headers.get("Host")
        if f == "github":
            links = []
            # GitHub's links name the repository by its ID
            u = "http://%s/repositories/4242/issues/%d/comments?per_page=%d&page=%%d" % (host, ARGS.pr, per)
            if page < pages:
                links += ['<%s>; rel="next"' % (u % (page + 1)), '<%s>; rel="last"' % (u % pages)]
            if page > 1:
                links += ['<%s>; rel="prev"' % (u % (page - 1)), '<%s>; rel="first"' % (u % 1)]
            return 200, [self.shown(c) for c in items], ({"Link": ", ".join(links)} if links else {})
        hdr = {"X-Page": str(page), "X-Per-Page": str(per), "X-Total": str(len(all_)), "X-Total-Pages": str(pages),
               "X-Next-Page": str(page + 1) if page < pages else "", "X-Prev-Page": str(page - 1) if page > 1 else ""}
        return 200, [self.shown(c) for c in items], hdr

    def check_body_text(self, obj, violations):
        b = obj.get("body")
        if isinstance(b, str):
            if not b.strip():
                violations.append("body is empty")
            if len(b) > BODY_MAX[ARGS.forge]:
                violations.append("body is too long (maximum is %d characters)" % BODY_MAX[ARGS.forge])

    def create_comment(self, raw, violations):
        fields = NOTE_CREATE if ARGS.forge == "gitlab" else {"body": (str, True)}
        obj = self.json_body(raw, fields, violations)
        self.check_body_text(obj, violations)
        if violations:
            return 422, {}, {}
        with LOCK:
            c = {"id": new_id(), "body": obj["body"], "user": "shoal-bot", "edits": 0}
            STATE["comments"].append(c)
        return 201, self.shown(c), {}

    def edit_comment(self, cid, raw, violations):
        obj = self.json_body(raw, {"body": (str, True)} if ARGS.forge != "gitlab" else
                             {"body": (str, True), "confidential": (bool, False)}, violations)
        self.check_body_text(obj, violations)
        with LOCK:
            found = [c for c in STATE["comments"] if c["id"] == cid]
            if not found:
                raise Reject(404, "Not Found: no comment %d" % cid)
            c = found[0]
            if c["user"] != "shoal-bot":
                violations.append("editing comment %d, written by %s" % (cid, c["user"]))
            if violations:
                return 422, {}, {}
            c["body"] = obj["body"]
            c["edits"] = c.get("edits", 0) + 1
        return 200, self.shown(c), {}


host, port = ARGS.listen.rsplit(":", 1)
srv = ThreadingHTTPServer((host, int(port)), H)
print("listening", flush=True)
srv.serve_forever()

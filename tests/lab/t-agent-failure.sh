# A commit whose update fails in the swarm (an image no node has: the update
# pauses) is marked failed, notified once (Slack-style JSON), not re-applied
# in a loop; the next commit is applied normally and a recovery is notified.
. "$TOP/tests/lab/lib.sh"
command -v lighttpd >/dev/null || { echo "SKIP: lighttpd missing: agent failures NOT TESTED"; exit 77; }
docker node update --label-add usage=apps --label-add mongo01=true --label-add mongo02=true \
	--label-add mongo03=true "$(docker node ls -q)" >/dev/null
make_repo src
git init -q --bare origin.git
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git add -A && git commit -qm v1 && git push -q ../origin.git main ) || fail "push v1"
port=$((20000 + RANDOM % 20000)); aport=$((port + 1)); nport=$((port + 2))
cat > httpd.conf <<CONF
server.document-root = "$T"
server.bind = "127.0.0.1"
server.port = $port
server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
alias.url = ("/git/" => "/usr/lib/git-core/git-http-backend/")
\$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "$T", "GIT_HTTP_EXPORT_ALL" => "1")
}
CONF
lighttpd -D -f httpd.conf > http.log 2>&1 &
hpid=$!
# the receiving end of notifications: records each POSTed body
cat > receiver.py <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 receiver.py $nport notes.txt &
npid=$!
trap 'kill $hpid $apid $npid 2>/dev/null' EXIT
sleep 0.3
"$SHOAL" agent --repo "http://127.0.0.1:$port/git/origin.git" --interval 1s --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --converge-timeout 60s --notify-url "http://127.0.0.1:$nport/hook" > agent.log 2>&1 &
apid=$!
field() { curl -fs "http://127.0.0.1:$aport/status" | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v1" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v1" ] || { cat agent.log; fail "v1 did not converge"; }
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/not-on-any-node:1\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm "v2 bad image" && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
for _ in $(seq 1 900); do [ "$(field commit_failed)" = "$v2" ] && break; sleep 0.1; done
[ "$(field commit_failed)" = "$v2" ] || { cat agent.log; fail "failed update not detected"; }
field last_error | grep -q 'kittenapi_kittenapi' || fail "error does not name the service: $(field last_error)"
w=$(curl -fs "http://127.0.0.1:$aport/metrics" | awk '/^shoal_writes_total/ {print $2}')
sleep 4
[ "$(curl -fs "http://127.0.0.1:$aport/metrics" | awk '/^shoal_writes_total/ {print $2}')" = "$w" ] || fail "failed commit re-applied"
[ "$(grep -c 'failed' notes.txt)" = 1 ] || { cat notes.txt; fail "failure not notified exactly once"; }
python3 -c 'import json,sys; [json.loads(l)["text"] for l in open("notes.txt")]' || fail "notification is not JSON with text"
( cd src && git revert --no-edit HEAD >/dev/null && git push -q ../origin.git main ) || fail "push v3"
v3=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v3" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v3" ] || { cat agent.log; fail "v3 not applied after a failure"; }
for _ in $(seq 1 30); do grep -q recovered notes.txt && break; sleep 0.1; done
grep -q recovered notes.txt || fail "recovery not notified"
cat notes.txt

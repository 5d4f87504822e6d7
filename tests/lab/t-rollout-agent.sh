# The agent rolls repo-template out in waves with mongo's rs-init hook (its
# output in /status, scrubbed), sets commit statuses on a forge (pending,
# then success or failure with the first error: forge-api.py, a recording
# stand-in checking each request against the forge's documented API, for
# FORGE=github|gitea|gitlab), signs its notifications (HMAC-SHA256, one per
# failing commit, one on recovery), and with --on-failure rollback puts the
# stacks a failing commit changed back to the last good commit.
. "$TOP/tests/lab/lib.sh"
need lighttpd
FORGE=${FORGE:-github}
git_server_start; case $? in 0) ;; 77) exit 77 ;; *) fail "git server did not start" ;; esac
src_init
port=$GIT_PORT; aport=$((port + 1)); nport=$((port + 2)); fport=$((port + 3)); hpid=$HTTPD_PID
printf 'forge-token-%s' "$RANDOM$RANDOM" > forge.tok
printf 'notify-secret-%s' "$RANDOM$RANDOM" > notify.key
chmod 600 forge.tok notify.key
case $FORGE in gitlab) api=/api/v4; repo=42 ;; gitea) api=/api/v1; repo=acme/infra ;; *) api=; repo=acme/infra ;; esac
python3 "$TOP/tests/lab/forge-api.py" --forge "$FORGE" --listen 127.0.0.1:$fport --token "$(cat forge.tok)" \
	--repo "$repo" --pr 1 --log forge.log &
fpid=$!
# the notifications' receiver: each body and its signature header
cat > receiver.py <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"sig": self.headers.get("X-Shoal-Signature"), "body": body.decode()}) + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 receiver.py $nport notes.txt &
npid=$!
trap 'kill $hpid $apid $npid $fpid 2>/dev/null' EXIT
# both listen before the agent starts (its first status is the first request)
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$fport/__state" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$fport/__state" >/dev/null || fail "forge-api.py did not start"
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$nport/" && break; sleep 0.1; done
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" \
	--converge-timeout 300s --on-failure rollback \
	--notify-webhook "http://127.0.0.1:$nport/hook" --notify-secret-file notify.key \
	--forge "$FORGE" --forge-api "http://127.0.0.1:$fport$api" --forge-repo "$repo" --forge-token-file forge.tok \
	> agent.log 2>&1 &
apid=$!
status() { curl -fs "http://127.0.0.1:$aport/status"; }
field() { status | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 4000); do [ "$(field commit_applied)" = "$v1" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v1" ] || { cat agent.log; fail "v1 did not converge"; }
# the hook's run, in /status, scrubbed
status > status1.json
python3 - <<'PY' || { cat status1.json; fail "the hook's run is not in /status"; }
import json
s = json.load(open("status1.json"))
h = s["stacks"]["mongo"]["hooks"] if "stacks" in s and "mongo" in s["stacks"] else None
if h is None:
    h = [x for st in s.values() if isinstance(st, dict) for x in (st.get("mongo", {}) or {}).get("hooks", [])]
assert h and h[0]["service"] == "mongo_rs-init" and h[0]["outcome"] == "succeeded", h
assert "mongosh stand-in: --nodb --quiet --file /etc/shoal/rs-init.js" in h[0]["output"], h[0]["output"]
assert "(sealed " in h[0]["output"], h[0]["output"]
PY
for s in mongo-keyfile mongo-admin-password mongo-kittenapi-password; do
	v=$("$SHOAL" unseal --key "$SHOAL_KEY_FILE" --stack mongo --name $s --in src/stacks/mongo/$s.sealed | head -1)
	grep -qF -- "$v" status1.json agent.log && fail "the value of $s in /status or the log"
done
# a bad image for kittenapi: the update pauses; rolled back to v1's image
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/not-on-any-node:1\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm "v2 bad image" && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
for _ in $(seq 1 1800); do [ "$(field commit_failed)" = "$v2" ] && field last_error | grep -q 'rolled back' && break; sleep 0.1; done
[ "$(field commit_failed)" = "$v2" ] || { cat agent.log; fail "the failed update was not detected"; }
field last_error | grep -q "(rolled back to commit ${v1:0:12})" || { cat agent.log; fail "no rollback said: $(field last_error)"; }
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = "$LAB_IMAGE" ] ||
	fail "kittenapi's image was not rolled back"
[ "$(docker service inspect -f '{{index .Spec.Labels "io.shoal.commit"}}' kittenapi_kittenapi)" = "$v1" ] ||
	fail "the rolled back service does not carry v1"
# only kittenapi was touched by the rollback
grep -q "rolled back to commit ${v1:0:12}: 1 operation, converged" agent.log ||
	{ cat agent.log; fail "rollback not logged as one operation"; }
# the revert: applied, recovery notified
( cd src && git revert --no-edit HEAD >/dev/null && git push -q ../origin.git main ) || fail "push v3"
v3=$(git -C src rev-parse HEAD)
for _ in $(seq 1 1200); do [ "$(field commit_applied)" = "$v3" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v3" ] || { cat agent.log; fail "v3 not applied"; }
for _ in $(seq 1 50); do [ "$(wc -l < notes.txt)" -ge 2 ] && break; sleep 0.1; done
cat notes.txt
# the signed notifications: one for v2 (failed, rolled back), one recovery
python3 - "$(cat notify.key)" "$v1" "$v2" "$v3" <<'PY' || fail "signed notifications"
import hmac, hashlib, json, sys
key, v1, v2, v3 = sys.argv[1:]
notes = [json.loads(l) for l in open("notes.txt")]
assert len(notes) == 2, notes
for n in notes:
    want = "sha256=" + hmac.new(key.encode(), n["body"].encode(), hashlib.sha256).hexdigest()
    assert n["sig"] == want, (n["sig"], want)
a, b = (json.loads(n["body"]) for n in notes)
assert a["commit"] == v2 and a["outcome"] == "rolled back" and a["rolled_back_to"] == v1, a
assert a["stacks"] == ["kittenapi"] and a["errors"] and "kittenapi_kittenapi" in a["errors"][0], a
assert b["commit"] == v3 and b["outcome"] == "recovered" and b["errors"] == [] and b["rolled_back_to"] is None, b
assert key not in open("notes.txt").read()
PY
# the history: v1 with its hook's run and output (scrubbed), v2 rolled back
status > status3.json
python3 - "$v1" "$v2" "$v3" <<'PY' || { cat status3.json; fail "the history"; }
import json, sys
v1, v2, v3 = sys.argv[1:]
h = {e["commit"]: e for e in json.load(open("status3.json"))["history"]}
assert h[v1]["outcome"] == "applied", h[v1]
hk = [x for x in h[v1]["hooks"] if x["service"] == "mongo_rs-init"]
assert hk and hk[0]["stack"] == "mongo" and hk[0]["phase"] == "post" and hk[0]["outcome"] == "succeeded", h[v1]
assert "mongosh stand-in:" in hk[0]["output"] and "(sealed " in hk[0]["output"], hk[0]["output"]
assert h[v2]["outcome"] == "rolled back" and h[v2]["rolled_back_to"] == v1, h[v2]
assert "kittenapi_kittenapi" in h[v2]["errors"][0], h[v2]
assert h[v3]["outcome"] == "applied" and "rolled_back_to" not in h[v3], h[v3]
PY
for s in mongo-keyfile mongo-admin-password mongo-kittenapi-password; do
	v=$("$SHOAL" unseal --key "$SHOAL_KEY_FILE" --stack mongo --name $s --in src/stacks/mongo/$s.sealed | head -1)
	grep -qF -- "$v" status3.json notes.txt forge.log && fail "the value of $s in /status, a notification or the forge"
done
"$SHOAL" status --agent "http://127.0.0.1:$aport" > status3.txt || fail "shoal status"
grep -q "rolled back to ${v1:0:12}" status3.txt || { cat status3.txt; fail "shoal status does not show the rollback"; }
grep -q "post-hook mongo_rs-init: succeeded" status3.txt || { cat status3.txt; fail "shoal status does not show the hook"; }
# the forge's statuses: pending then success (v1, v3), pending then failure (v2)
curl -fs "http://127.0.0.1:$fport/__state" > forge.json
python3 - "$FORGE" "$v1" "$v2" "$v3" <<'PY' || { cat forge.json; fail "commit statuses"; }
import json, sys
forge, v1, v2, v3 = sys.argv[1:]
s = json.load(open("forge.json"))
assert not s["violations"], s["violations"]
assert all(r.get("auth") in (None, "ok") for r in s["requests"]), s["requests"]
fail = "failed" if forge == "gitlab" else "failure"
by = {}
for st in s["statuses"]:
    assert st["name"] == "shoal/deploy", st
    by.setdefault(st["sha"], []).append(st["state"])
assert by.get(v1) == ["pending", "success"], by
assert by.get(v2) == ["pending", fail], by
assert by.get(v3) == ["pending", "success"], by
d2 = [st["description"] for st in s["statuses"] if st["sha"] == v2][-1]
assert "kittenapi_kittenapi" in d2 and "rolled back" in d2, d2
PY
grep -qF "$(cat forge.tok)" agent.log forge.log notes.txt && fail "the forge token was shown"
true

# A commit whose update fails in the swarm (an image no node has: the update
# pauses) is marked failed, notified once (Slack-style JSON), not re-applied
# in a loop; the next commit is applied normally and a recovery is notified.
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: agent failures NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
label_node_for_template
src_init
port=$GIT_PORT; aport=$((port + 1)); nport=$((port + 2)); hpid=$HTTPD_PID
# the receiving end of notifications: records each POSTed body
notify_receiver_start $nport notes.txt || fail "the notification receiver did not start"
npid=$NOTIFY_PID
trap 'kill $hpid $apid $npid 2>/dev/null' EXIT
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --run-dir "$T/run" --converge-timeout 60s --notify-url "http://127.0.0.1:$nport/hook" > agent.log 2>&1 &
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

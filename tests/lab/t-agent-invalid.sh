# Invalid commits say where (issue 18, item 4): /status (last_error, the
# stack's error, the history entry), the log line and the notification carry
# each error as file:line:column: message, the first five with the count;
# the running service stays as the last good commit left it.
. "$TOP/tests/lab/lib.sh"
need lighttpd jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid= npid=
trap 'kill $hpid $apid $npid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1)) nport=$((GIT_PORT + 2))
notify_receiver_start $nport notes.txt || fail "the notification receiver did not start"
npid=$NOTIFY_PID
mkdir -p src/stacks/app
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
commit() { ( cd src && git add -A && git commit -qm "$1" && git push -q ../origin.git main ) || fail "push $1"; git -C src rev-parse HEAD; }
printf 'version: "3.8"\nservices:\n  web:\n    image: %s\n    stop_grace_period: 2s\n    deploy: {replicas: 2}\n' "$LAB_IMAGE" > src/stacks/app/app.yml
v1=$(commit v1)
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" \
	--notify-url "http://127.0.0.1:$nport/hook" > agent.log 2>&1 &
apid=$!
field() { curl -fs --max-time 5 "http://127.0.0.1:$aport/status" | jq -r "$1 // empty" 2>/dev/null; }
for _ in $(seq 1 600); do [ "$(field '.commit_applied')" = "$v1" ] && break; sleep 0.1; done
[ "$(field '.commit_applied')" = "$v1" ] || { cat agent.log; fail "v1 not applied"; }
# two errors, each with its place
printf 'version: "3.8"\nservices:\n  web:\n    image: %s\n    deploy: {replicas: "two"}\n    bogus_key: 1\n' "$LAB_IMAGE" > src/stacks/app/app.yml
v2=$(commit "v2 invalid")
for _ in $(seq 1 300); do [ "$(field '.commit_failed')" = "$v2" ] && break; sleep 0.1; done
[ "$(field '.commit_failed')" = "$v2" ] || { cat agent.log; fail "v2 not reported"; }
e1='stacks/app/app.yml:5:24: services.web.deploy.replicas must be an integer, got string'
e2='stacks/app/app.yml:6:5: services.web additional property bogus_key is not allowed'
err=$(field '.last_error')
echo "last_error: $err"
case $err in *"$e1"*"$e2"*) ;; *) fail "/status last_error does not place the errors" ;; esac
[ "$(field '.history[0].outcome') $(field '.history[0].error_count')" = "invalid 2" ] || fail "history: $(field '.history[0]')"
[ "$(field '.history[0].errors[0]')" = "$e1" ] || fail "history errors: $(field '.history[0].errors')"
field '.stacks.app.error' | grep -qF "$e2" || fail "the stack's error: $(field '.stacks.app.error')"
grep -F "commit ${v2:0:12} is invalid" agent.log | grep -qF "$e1" || fail "no log line with the errors"
for _ in $(seq 1 50); do grep -q "${v2:0:12}" notes.txt 2>/dev/null && break; sleep 0.1; done
grep "${v2:0:12}" notes.txt | grep -qF "$e2" || { cat notes.txt; fail "the notification does not place the errors"; }
[ "$(docker service inspect -f '{{index .Spec.Labels "io.shoal.commit"}}' app_web)" = "$v1" ] || fail "app_web left v1"
# seven errors: the first five and the count
{ printf 'version: "3.8"\nservices:\n  web:\n    image: %s\n' "$LAB_IMAGE"; for i in 1 2 3 4 5 6 7; do printf '    bogus%s: 1\n' $i; done; } > src/stacks/app/app.yml
v3=$(commit "v3 seven errors")
for _ in $(seq 1 300); do [ "$(field '.commit_failed')" = "$v3" ] && break; sleep 0.1; done
[ "$(field '.history[0].error_count')" = 7 ] || fail "count: $(field '.history[0]')"
[ "$(field '.history[0].errors' | grep -o 'app.yml:' | wc -l)" = 5 ] || fail "not the first five: $(field '.history[0].errors')"
field '.last_error' | grep -q 'stacks/app/app.yml:5:5: .*(and 2 more: 7 errors in all)' || fail "last_error: $(field '.last_error')"
kill $apid; wait $apid 2>/dev/null
# a notification that cannot be delivered is logged by the URL's origin:
# the path of a Slack-style incoming webhook is its secret
printf '    bogus8: 1\n' >> src/stacks/app/app.yml
commit "v4 eight errors" > /dev/null
"$SHOAL" agent --once --repo "$GIT_URL" --cache "$T/cache2.git" --run-dir "$T/run2" \
	--notify-url "http://u:pw@127.0.0.1:9/services/T0K3N-PATH?k=Q" > once.log 2>&1 && fail "--once on an invalid commit succeeded"
grep -q 'notification to http://127.0.0.1:9 failed' once.log || { cat once.log; fail "the undelivered notification not logged"; }
! grep -q -e T0K3N -e 'k=Q' -e 'u:pw' once.log || { cat once.log; fail "the notification URL's secret in the log"; }
echo "ok: an invalid commit's errors carry file:line:column in status, log and notification"

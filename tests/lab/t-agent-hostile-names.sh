# Hostile file names and keys in an invalid commit (issue 18, item 4, as a
# pusher would try it): a compose file whose name holds a byte that is not
# UTF-8, an ANSI escape and a newline, and a key with escapes in it.  The
# agent still reports the commit invalid with file:line:column in /status
# (last_error and the history's errors), the log line and the notification,
# says it once (not again every poll), and no raw control byte reaches
# /status, the log or `shoal status`.
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
printf 'version: "3.8"\nservices:\n  web:\n    image: %s\n    deploy: {replicas: 1}\n' "$LAB_IMAGE" > src/stacks/app/app.yml
v1=$(commit v1)
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" \
	--notify-url "http://127.0.0.1:$nport/hook" > agent.log 2>&1 &
apid=$!
field() { curl -fs --max-time 5 "http://127.0.0.1:$aport/status" | jq -r "$1 // empty" 2>/dev/null; }
end=$((SECONDS + 120))
while [ $SECONDS -lt $end ] && [ "$(field '.commit_applied')" != "$v1" ]; do sleep 0.2; done
[ "$(field '.commit_applied')" = "$v1" ] || { cat agent.log; fail "v1 not applied"; }
# a second compose file of the stack, named with \xff, ESC[31m and a newline
bad=$(printf 'x\xff\033[31mred\nline.yml')
printf 'services:\n  web:\n    "k\\e[2J\\nforged": 1\n' > "src/stacks/app/$bad"
v2=$(commit "v2 hostile name")
end=$((SECONDS + 120))
while [ $SECONDS -lt $end ] && [ "$(field '.commit_failed')" != "$v2" ]; do sleep 0.2; done
[ "$(field '.commit_failed')" = "$v2" ] || { tail -20 agent.log | cat -v; fail "v2 not reported in /status"; }
[ "$(field '.history[0].commit') $(field '.history[0].outcome')" = "$v2 invalid" ] || fail "history[0]: $(field '.history[0]')"
[ "$(field '.history[0].errors | length')" = "$(field '.history[0].error_count')" ] ||
	fail "history errors dropped: $(field '.history[0].errors') (count $(field '.history[0].error_count'))"
field '.history[0].errors[0]' | grep -q '^stacks/app/x.*:[0-9]*:[0-9]*: ' || fail "no file:line:column: $(field '.history[0].errors[0]' | cat -v)"
field '.last_error' | grep -q 'stacks/app/x.*:3:5: ' || fail "last_error: $(field '.last_error' | cat -v)"
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ] && ! grep -q "${v2:0:12}" notes.txt 2>/dev/null; do sleep 0.2; done
grep "${v2:0:12}" notes.txt | grep -q 'stacks/app/x.*:3:5: ' || { cat -v notes.txt; fail "the notification does not place the error"; }
# said once: five more polls say nothing new
n=$(grep -c "commit ${v2:0:12} is invalid" agent.log)
sleep 6
[ "$(grep -c "commit ${v2:0:12} is invalid" agent.log)" = "$n" ] || { tail -20 agent.log | cat -v; fail "the invalid commit is reported again every poll"; }
[ "$(grep -c "${v2:0:12}" notes.txt)" = 1 ] || { cat -v notes.txt; fail "notified more than once"; }
"$SHOAL" status --agent "http://127.0.0.1:$aport" > status.txt || fail "shoal status"
curl -fs "http://127.0.0.1:$aport/status" > status.json
grep -q "${v2:0:12}" status.txt || fail "shoal status does not show the commit"
for f in status.txt status.json agent.log notes.txt; do
	! grep -q "$(printf '\033')" "$f" || { cat -v "$f" | tail; fail "a raw escape in $f"; }
done
[ "$(docker service inspect -f '{{index .Spec.Labels "io.shoal.commit"}}' app_web)" = "$v1" ] || fail "app_web left v1"
echo "ok: hostile file names and keys: placed, reported once, no raw control bytes"

# A restart never turns a failing rollout into success (issue 18, item 2):
# the commit being converged, its deadline and its outcome are kept with
# the lease in the swarm.  A commit adds a service no node can place; the
# agent is killed (-9) while it waits and started again: the new agent
# resumes the wait to the same deadline and reports the failure (status,
# log, notification, /readyz), never "applied".  Then a crash-looping
# service with two agents: the leader is stopped (SIGTERM) while it waits,
# the standby takes over, resumes the wait and reports the failure.
. "$TOP/tests/lab/lib.sh"
need lighttpd bc jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid= bpid= npid=
trap 'kill $hpid $apid $bpid $npid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1)) bport=$((GIT_PORT + 2)) nport=$((GIT_PORT + 3))
notify_receiver_start $nport notes.txt || fail "the notification receiver did not start"
npid=$NOTIFY_PID
# a service that really runs (2 replicas of the stand-in), then others
svc() { # name, extra lines
	printf '  %s:\n    image: %s\n    stop_grace_period: 2s\n    deploy:\n      replicas: %s\n%s' "$1" "$LAB_IMAGE" "${3:-1}" "$2"
}
commit() { ( cd src && git add -A && git commit -qm "$1" && git push -q ../origin.git main ) || fail "push $1"; git -C src rev-parse HEAD; }
mkdir -p src/stacks/app
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
{ echo 'version: "3.8"'; echo services:; svc web '' 2; } > src/stacks/app/app.yml
v1=$(commit v1)
start() { # port [deadline [lease TTL]]: an agent that waits so long for convergence
	"$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl ${3:-3s} --converge-timeout ${2:-30s} --listen 127.0.0.1:$1 \
		--cache "$T/cache-$1.git" --run-dir "$T/run-$1" --notify-url "http://127.0.0.1:$nport/hook" \
		${DRIFT:+--drift-interval $DRIFT} >> "agent-$1.log" 2>&1 &
}
status() { curl -fs --max-time 5 "http://127.0.0.1:$1/status"; }
field() { status "$1" | jq -r "$2 // empty" 2>/dev/null; }
start $aport 300s; apid=$!
for _ in $(seq 1 3000); do [ "$(field $aport '.commit_applied')" = "$v1" ] && break; sleep 0.1; done
[ "$(field $aport '.commit_applied')" = "$v1" ] || { cat agent-$aport.log; fail "v1 not applied"; }
[ "$(field $aport '.history[0].outcome')" = applied ] || fail "history: $(field $aport '.history')"
kill $apid; wait $apid 2>/dev/null
start $aport; apid=$!
# v2: a service no node can place
svc stuck '      placement: {constraints: [node.labels.nothing == x]}
' >> src/stacks/app/app.yml
v2=$(commit "v2 unplaceable")
for _ in $(seq 1 300); do [ "$(field $aport '.converging.commit')" = "$v2" ] && break; sleep 0.1; done
[ "$(field $aport '.converging.commit')" = "$v2" ] || { cat agent-$aport.log; fail "v2: no convergence wait"; }
sleep 2
kill -9 $apid; wait $apid 2>/dev/null
t0=$(date +%s.%N)
echo "killed (-9) while it waited for app_stuck"
start $aport; apid=$!
for _ in $(seq 1 900); do [ "$(field $aport '.commit_failed')" = "$v2" ] && break; sleep 0.1; done
t1=$(date +%s.%N)
[ "$(field $aport '.commit_failed')" = "$v2" ] || { cat agent-$aport.log; fail "the restarted agent did not report v2's failure"; }
echo "restart (kill -9) -> failure reported: $(echo "$t1 - $t0" | bc | cut -c1-5) s (deadline 30 s after the apply)"
[ "$(field $aport '.commit_applied')" != "$v2" ] || fail "v2 reported applied"
grep -q "commit ${v2:0:12} applied" agent-$aport.log && fail "the log says v2 was applied"
grep -q "resuming the convergence wait" agent-$aport.log || fail "the wait was not resumed"
field $aport '.last_error' | grep -q 'app_stuck did not converge' || fail "error: $(field $aport '.last_error')"
[ "$(field $aport '.history[0].commit') $(field $aport '.history[0].outcome')" = "$v2 failed" ] ||
	fail "history: $(field $aport '.history')"
for _ in $(seq 1 50); do grep -q "${v2:0:12}.*failed" notes.txt 2>/dev/null && break; sleep 0.1; done
grep -q "${v2:0:12}.*failed.*app_stuck" notes.txt || { cat notes.txt; fail "failure not notified"; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$aport/readyz")
[ "$code" = 503 ] || fail "/readyz $code with the head commit failed"
# it stays failed: not re-applied by this agent, nor by another one
sleep 3
[ "$(field $aport '.commit_failed')" = "$v2" ] || fail "v2's failure forgotten"
kill $apid; wait $apid 2>/dev/null
DRIFT=1s start $aport; apid=$!
for _ in $(seq 1 300); do [ "$(field $aport '.commit_failed')" = "$v2" ] && break; sleep 0.1; done
[ "$(field $aport '.commit_failed')" = "$v2" ] || { tail agent-$aport.log; fail "a restart forgot that v2 failed"; }
# drift checks (every second here) find the swarm as v2 left it: its
# failure stands, no apply, no success
for _ in $(seq 1 300); do [ "$(grep -c "${v2:0:12} failed before; the swarm is as it left it" agent-$aport.log)" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c "${v2:0:12} failed before; the swarm is as it left it" agent-$aport.log)" -ge 2 ] || { tail agent-$aport.log; fail "no drift check of the failed commit"; }
[ "$(field $aport '.commit_failed')" = "$v2" ] || fail "a drift check forgot that v2 failed"
grep -q "commit ${v2:0:12} applied" agent-$aport.log && fail "v2 applied after a restart"
echo "ok: kill -9 during the wait: the restarted agent resumed it and reported the failure"
# v3: the unplaceable one goes, a crash-looping one comes; two agents
{ echo 'version: "3.8"'; echo services:; svc web '' 2; svc crash '    command: ["false"]
'; } > src/stacks/app/app.yml
# (the crash loop is told by its second failed task: seconds apart under load)
# (two agents: a lease TTL a loaded machine renews in time; SIGTERM hands
# it over at once anyway)
kill $apid; wait $apid 2>/dev/null
start $aport 120s 20s; apid=$!
for _ in $(seq 1 100); do [ "$(field $aport '.role')" = leader ] && break; sleep 0.1; done
start $bport 120s 20s; bpid=$!
for _ in $(seq 1 100); do [ "$(field $bport '.role')" = standby ] && break; sleep 0.1; done
[ "$(field $bport '.role')" = standby ] || fail "b is not standing by: $(field $bport '.role')"
v3=$(commit "v3 crash loop")
for _ in $(seq 1 300); do [ "$(field $aport '.converging.commit')" = "$v3" ] && break; sleep 0.1; done
[ "$(field $aport '.converging.commit')" = "$v3" ] || { cat agent-$aport.log; fail "v3: no convergence wait"; }
kill -TERM $apid; wait $apid 2>/dev/null
t0=$(date +%s.%N)
echo "leader stopped (SIGTERM) while it waited for app_crash"
for _ in $(seq 1 900); do [ "$(field $bport '.commit_failed')" = "$v3" ] && break; sleep 0.1; done
t1=$(date +%s.%N)
[ "$(field $bport '.commit_failed')" = "$v3" ] || { cat agent-$aport.log agent-$bport.log; fail "the standby did not report v3's failure"; }
echo "hand-over (SIGTERM) -> failure reported: $(echo "$t1 - $t0" | bc | cut -c1-5) s"
# crash-looping after its second failed task; on a machine so loaded that
# the swarm restarts it less often than that, the deadline says its error
field $bport '.last_error' | grep -q -e 'app_crash: crash-looping' -e 'app_crash did not converge.*non-zero exit' || { cat agent-$bport.log; fail "error: $(field $bport '.last_error')"; }
grep -q "commit ${v3:0:12} applied" agent-$aport.log agent-$bport.log && fail "v3 reported applied"
[ "$(field $bport '.history[0].outcome')" = failed ] || fail "history: $(field $bport '.history')"
[ "$(field $bport '.history[1].commit')" = "$v2" ] || fail "the history did not pass to the standby"
for _ in $(seq 1 50); do grep -q "${v3:0:12}.*failed" notes.txt && break; sleep 0.1; done
grep -q -e "${v3:0:12}.*failed.*crash-looping" -e "${v3:0:12}.*failed.*non-zero exit" notes.txt || { cat notes.txt; fail "v3's failure not notified"; }
"$SHOAL" status --agent "http://127.0.0.1:$bport" > status.txt || fail "shoal status"
cat status.txt
grep -q "^${v3:0:12} *failed .*app_crash" status.txt || fail "shoal status does not show v3's failure"
kill $bpid; wait $bpid 2>/dev/null
echo "ok: SIGTERM during the wait: the standby resumed it and reported the failure"

# The lease deleted by hand while the agent waits for a rollout that cannot
# converge (an operator cleaning up configs): the agent takes the lease
# again and keeps what it carries (the convergence record, the history),
# so that a kill -9 afterwards still ends in the failure being reported by
# the restarted agent, never in "applied: 0 operations".
. "$TOP/tests/lab/lib.sh"
need lighttpd jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1))
svc() { # name, extra lines
	printf '  %s:\n    image: %s\n    stop_grace_period: 2s\n    deploy:\n      replicas: 1\n%s' "$1" "$LAB_IMAGE" "$2"
}
commit() { ( cd src && git add -A && git commit -qm "$1" && git push -q ../origin.git main ) || fail "push $1"; git -C src rev-parse HEAD; }
mkdir -p src/stacks/app
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
{ echo 'version: "3.8"'; echo services:; svc web ''; } > src/stacks/app/app.yml
v1=$(commit v1)
start() {
	"$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl 4s --converge-timeout 60s --listen 127.0.0.1:$aport \
		--cache "$T/cache.git" --run-dir "$T/run" >> agent.log 2>&1 &
	apid=$!
}
field() { curl -fs --max-time 5 "http://127.0.0.1:$aport/status" | jq -r "$1 // empty" 2>/dev/null; }
wait_field() { # jq value seconds
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do [ "$(field "$1")" = "$2" ] && return 0; sleep 0.2; done
	tail -30 agent.log; fail "$1 is not $2 after $3 s: $(field "$1")"
}
lease() { docker config ls -q --filter label=io.shoal.lease.holder; }
start
wait_field .commit_applied "$v1" 120
svc stuck '      placement: {constraints: [node.labels.nothing == x]}
' >> src/stacks/app/app.yml
v2=$(commit "v2 unplaceable")
wait_field .converging.commit "$v2" 60
old=$(lease)
[ -n "$old" ] || fail "no lease"
docker config inspect -f '{{index .Spec.Labels "io.shoal.converging"}}' "$old" | grep -q "$v2" || fail "no convergence record with the lease"
docker config rm "$old" > /dev/null || fail "cannot delete the lease"
echo "lease deleted by hand while the agent waits for app_stuck"
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ]; do new=$(lease); [ -n "$new" ] && [ "$new" != "$old" ] && break; sleep 0.2; done
[ -n "$new" ] && [ "$new" != "$old" ] || { tail agent.log; fail "the agent did not take the lease again"; }
# what the new lease carries, once the agent had a moment to write it
end=$((SECONDS + 10))
while [ $SECONDS -lt $end ]; do
	docker config inspect -f '{{index .Spec.Labels "io.shoal.converging"}}' "$new" 2>/dev/null | grep -q "$v2" && break
	sleep 0.2
done
kill -9 $apid; wait $apid 2>/dev/null
echo "killed (-9)"
start
wait_field .commit_failed "$v2" 120
grep -q "commit ${v2:0:12} applied" agent.log && fail "the log says v2 was applied"
[ "$(field '.history[0].commit') $(field '.history[0].outcome')" = "$v2 failed" ] || fail "history: $(field '.history')"
echo "ok: a lease deleted by hand is taken again with its record; a restart still reports the failure"

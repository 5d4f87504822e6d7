# The engine restarted in the middle of an agent's apply (issue 18, item
# 5): while it starts again a manager answers 503 "This node is not a swarm
# manager" (and other start-up words) before its swarm is up; the agent
# takes those as "not reachable yet" and retries within the minute README
# promises, so the commit is applied, every object exactly once, nothing
# reported failed.
. "$TOP/tests/lab/lib.sh"
need lighttpd jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1))
n=${ENGINE_RESTART_SERVICES:-150}
mkdir -p src/stacks/many
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
{ # one service that runs (2 replicas), many that do not
	printf 'version: "3.8"\nservices:\n  web:\n    image: %s\n    stop_grace_period: 2s\n    deploy: {replicas: 2}\n' "$LAB_IMAGE"
	for i in $(seq 1 "$n"); do printf '  s%03d:\n    image: %s\n    deploy: {replicas: 0}\n' "$i" "$LAB_IMAGE"; done
} > src/stacks/many/many.yml
( cd src && git add -A && git commit -qm many && git push -q ../origin.git main ) || fail "push"
v1=$(git -C src rev-parse HEAD)
field() { curl -fs --max-time 5 "http://127.0.0.1:$aport/status" | jq -r "$1 // empty" 2>/dev/null; }
count() { docker service ls -q --filter label=com.docker.stack.namespace=many 2>/dev/null | wc -l; }
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl 30s --converge-timeout 120s --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --run-dir "$T/run" > agent.log 2>&1 &
apid=$!
for _ in $(seq 1 1200); do [ "$(count)" -ge 10 ] && break; sleep 0.02; done
[ "$(count)" -ge 10 ] || { cat agent.log; fail "the apply did not start"; }
at=$(count)
lab_dockerd_stop || fail "the engine did not stop"
lab_dockerd_start || fail "the engine did not come back"
echo "engine restarted with $at/$((n + 1)) services created"
for _ in $(seq 1 1800); do
	[ -n "$(field '.commit_applied')$(field '.commit_failed')" ] && break; sleep 0.1
done
[ "$(field '.commit_applied')" = "$v1" ] || { grep -v 'Created service' agent.log | tail -30; fail "not applied after the engine restart: $(field '.last_error')"; }
grep -q 'retrying' agent.log || fail "the restart went unnoticed"
echo "retries: $(grep -c retrying agent.log), of which for start-up answers: $(grep retrying agent.log | grep -c -e 'not a swarm manager' -e 'not part of a swarm' -e leader)"
[ "$(count)" = $((n + 1)) ] || fail "$(count)/$((n + 1)) services"
[ "$(docker service ls --format '{{.Name}}' | sort | uniq -d | wc -l)" = 0 ] || fail "a service twice"
[ "$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' many_web)" = 2 ] || fail "many_web"
kill $apid; wait $apid 2>/dev/null
echo "ok: the engine restarted mid-apply; the agent waited for it and applied the commit"

# The engine restarted in the middle of an agent's apply (issue 18, item
# 5): the agent's requests meet the connection lost and a socket nobody
# listens on, and, from an engine that starts its swarm slowly, 503 "This
# node is not a swarm manager" (and other start-up words); it takes them
# all as "not reachable yet" and waits within the minute README promises,
# so the commit is applied, every object exactly once, nothing reported
# failed.  This engine (20.10) serves its API only once its swarm is up,
# so here the start-up words themselves cannot be provoked; test_uhttp
# checks that they are retried, also by an apply's workers.
. "$TOP/tests/lab/lib.sh"
need lighttpd jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1))
n=${ENGINE_RESTART_SERVICES:-200}
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
# The cycle runs in slow motion (10 ms run, then held while the engine's
# list is read) until the apply is under way, then is held still while the
# engine goes down and starts again: the restart falls inside the apply
# however fast the machine is.  Resumed the moment the new engine process
# exists, the cycle meets the connection lost, a socket nobody listens on,
# then the start-up answers.
cyc=
for _ in $(seq 1 1000); do cyc=$(pgrep -P "$apid" -f agent-cycle | head -1); [ -n "$cyc" ] && break; sleep 0.01; done
[ -n "$cyc" ] || { cat agent.log; fail "no cycle process"; }
kill -STOP "$cyc"
for _ in $(seq 1 3000); do
	[ "$(count)" -ge 20 ] && break
	kill -CONT "$cyc" 2>/dev/null || break
	sleep 0.01
	kill -STOP "$cyc" 2>/dev/null || break
done
kill -0 "$cyc" 2>/dev/null || { cat agent.log; fail "the cycle ended before the restart"; }
at=$(count)
lab_dockerd_stop || { kill -CONT "$cyc"; fail "the engine did not stop"; }
lab_dockerd_start & spid=$!
for _ in $(seq 1 100); do [ -s "$LAB_DIR/dockerd.pid" ] && kill -0 "$(cat "$LAB_DIR/dockerd.pid")" 2>/dev/null && break; sleep 0.05; done
kill -CONT "$cyc"
wait $spid || fail "the engine did not come back"
echo "engine restarted with $at/$((n + 1)) services created"
for _ in $(seq 1 1800); do
	[ -n "$(field '.commit_applied')$(field '.commit_failed')" ] && break; sleep 0.1
done
[ "$(field '.commit_applied')" = "$v1" ] || { grep -v -e 'Created service' -e 'no digest' agent.log | tail -40; docker service ps --no-trunc many_web | head; docker node ls; docker info 2>/dev/null | grep -A3 -i swarm; fail "not applied after the engine restart: $(field '.last_error')"; }
! grep -q -e 'failed' -e ' error ' agent.log || { grep -v -e "Created service" -e "no digest" agent.log | tail -40; fail "a failure reported"; }
echo "retries: $(grep -c retrying agent.log), of which for start-up answers: $(grep retrying agent.log | grep -c -e 'not a swarm manager' -e 'not part of a swarm' -e leader)"
# one image for all: asked of its registry (and its absence said) once
[ "$(grep -c 'no digest' agent.log)" = 1 ] || fail "$(grep -c 'no digest' agent.log) warnings for one image"
[ "$(count)" = $((n + 1)) ] || fail "$(count)/$((n + 1)) services"
[ "$(docker service ls --format '{{.Name}}' | sort | uniq -d | wc -l)" = 0 ] || fail "a service twice"
[ "$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' many_web)" = 2 ] || fail "many_web"
kill $apid; wait $apid 2>/dev/null
echo "ok: the engine restarted mid-apply; the agent waited for it and applied the commit"

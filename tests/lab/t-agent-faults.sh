# Faults around the agent: the Git remote goes away (last good state kept,
# /status says why, recovers when it is back), and SIGTERM in the middle of
# an apply (the agent stops within seconds, hands the lease over, and a
# restarted agent converges the rest).
. "$TOP/tests/lab/lib.sh"
need lighttpd bc
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
label_node_for_template
src_init
aport=$((GIT_PORT + 1))
start_agent() {
	"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" >> agent.log 2>&1 &
	apid=$!
}
field() { curl -fs "http://127.0.0.1:$aport/status" | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
start_agent
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v1" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v1" ] || fail "v1 not applied"
# the remote goes away
kill $hpid; wait $hpid 2>/dev/null
before=$(all_versions)
for _ in $(seq 1 50); do field last_error | grep -q "^git " && break; sleep 0.1; done
field last_error | grep -q "^git " || fail "status does not say the remote is gone: $(field last_error)"
[ "$(field commit_applied)" = "$v1" ] || fail "applied commit lost"
curl -fs "http://127.0.0.1:$aport/healthz" >/dev/null || fail "not healthy while the remote is gone"
sleep 2
[ "$before" = "$(all_versions)" ] || fail "the swarm changed while the remote was gone"
# it comes back with a new commit on the same port
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm v2 && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
lighttpd -D -f "$T/httpd.conf" >> "$T/http.log" 2>&1 &
hpid=$!
for _ in $(seq 1 900); do [ "$(field commit_applied)" = "$v2" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v2" ] || { tail agent.log; fail "no recovery after the remote came back"; }
[ -z "$(field last_error)" ] || fail "error not cleared: $(field last_error)"
# SIGTERM in the middle of an apply of 100 services and a 2-replica one
# that runs (created last): the stopping agent does not call the commit
# applied before it converged; the next one resumes the wait
mkdir -p src/stacks/many
{
	echo 'version: "3.8"'
	echo services:
	for i in $(seq 1 100); do printf '  s%03d:\n    image: shoal-lab/term:1\n    deploy: {replicas: 0}\n' "$i"; done
	printf '  web:\n    image: %s\n    stop_grace_period: 2s\n    deploy: {replicas: 2}\n' "$LAB_IMAGE"
} > src/stacks/many/many.yml
( cd src && git add -A && git commit -qm v3 && git push -q ../origin.git main ) || fail "push v3"
v3=$(git -C src rev-parse HEAD)
count() { docker service ls -q --filter label=com.docker.stack.namespace=many | wc -l; }
for _ in $(seq 1 600); do [ "$(count)" -ge 20 ] && break; sleep 0.02; done
t0=$(date +%s.%N) at=$(count)
kill -TERM $apid
for _ in $(seq 1 100); do kill -0 $apid 2>/dev/null || break; sleep 0.1; done
kill -0 $apid 2>/dev/null && fail "the agent did not stop within 10 s of SIGTERM"
wait $apid; rc=$?
echo "SIGTERM with $at/100 services created; stopped $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-4) s later with $(count)/100 (exit $rc)"
[ $rc = 0 ] || fail "exit $rc after SIGTERM"
grep -q 'lease .* released' agent.log || fail "lease not handed over"
grep -q "commit ${v3:0:12} applied" agent.log && fail "the stopping agent said v3 applied before many_web converged"
start_agent
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v3" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v3" ] || { tail agent.log; fail "restart did not converge v3"; }
[ "$(count)" = 101 ] || fail "$(count)/101 services after the restart"
[ "$(docker service ls --filter name=many_web --format '{{.Replicas}}')" = 2/2 ] || fail "v3 applied with many_web $(docker service ls --filter name=many_web --format '{{.Replicas}}')"
[ "$(field history | python3 -c 'import ast,sys; h=ast.literal_eval(sys.stdin.read()); print(h[0]["commit"], h[0]["outcome"])')" = "$v3 applied" ] ||
	fail "history: $(field history)"
kill $apid; wait $apid 2>/dev/null
echo "ok: remote outage kept state and recovered; SIGTERM mid-apply stopped cleanly, restart converged"

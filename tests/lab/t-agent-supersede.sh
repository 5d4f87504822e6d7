# The newest commit wins (issue 18, item 1): while a 2-replica rolling
# update converges (each task takes its 20 s stop grace period, one at a
# time), the agent keeps fetching; a fix pushed meanwhile is applied within
# a poll interval (here 2 s), or at once on a webhook, without waiting for
# the rollout (bound: 30 s, for a loaded machine; the rollout takes 40), and the commit it replaces is recorded as superseded.
. "$TOP/tests/lab/lib.sh"
need lighttpd bc openssl jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1))
printf 'h00k-secret' > hook.secret
mkdir -p src/stacks/app
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
push() { push_rolling_web "$1"; }
start() { # interval
	"$SHOAL" agent --repo "$GIT_URL" --interval "$1" --converge-timeout 600s --listen 127.0.0.1:$aport \
		--webhook-secret-file hook.secret --cache "$T/cache.git" --run-dir "$T/run" >> agent.log 2>&1 &
	apid=$!
}
field() { agent_field "$aport" "$1"; }
round() { docker service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' app_web 2>/dev/null | grep -o 'ROUND=[0-9]*' | cut -d= -f2; }
hook() {
	local body='{"ref":"refs/heads/main"}' sig
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac h00k-secret | sed 's/.* //')
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "http://127.0.0.1:$aport/webhook")" = 202 ] || fail "webhook refused"
}
wait_applied() { for _ in $(seq 1 1800); do [ "$(field '.commit_applied')" = "$1" ] && return 0; sleep 0.1; done; tail -20 agent.log; fail "$1 not applied"; }
# while round $1's rollout converges, round $2 is pushed: seconds until it is written
supersede() { # round newer hook?
	local old new t0 t1 s
	old=$(push "$1")
	[ -n "${3:-}" ] && hook
	for _ in $(seq 1 600); do [ "$(field '.converging.commit')" = "$old" ] && break; sleep 0.1; done
	[ "$(field '.converging.commit')" = "$old" ] || { tail agent.log; fail "round $1: no convergence wait"; }
	for _ in $(seq 1 100); do [ "$(docker service inspect -f '{{.UpdateStatus.State}}' app_web)" = updating ] && break; sleep 0.1; done
	[ "$(docker service inspect -f '{{.UpdateStatus.State}}' app_web)" = updating ] || fail "round $1: no rolling update"
	new=$(push "$2")
	t0=$(date +%s.%N)
	[ -n "${3:-}" ] && hook
	for _ in $(seq 1 600); do [ "$(round)" = "$2" ] && break; sleep 0.05; done
	t1=$(date +%s.%N)
	[ "$(round)" = "$2" ] || { tail agent.log; fail "round $2 not written"; }
	s=$(echo "$t1 - $t0" | bc)
	local how='poll every 2 s'
	[ -n "${3:-}" ] && how=webhook
	echo "round $2 pushed during round $1's rollout ($how): written after $(echo "$s" | cut -c1-5) s"
	# round $1's rollout takes over 40 s (two 20 s stops): waiting for it
	# is not allowed
	[ "$(echo "$s < 30" | bc)" = 1 ] || { tail -30 agent.log; fail "round $2 waited $s s behind round $1's rollout"; }
	wait_applied "$new"
	[ "$(field '.history[0].commit') $(field '.history[0].outcome')" = "$new applied" ] || fail "history[0]: $(field '.history[0]')"
	[ "$(field '.history[1].commit') $(field '.history[1].outcome') $(field '.history[1].superseded_by')" = "$old superseded $new" ] ||
		fail "history[1]: $(field '.history[1]')"
	grep -q "commit ${old:0:12} superseded by ${new:0:12}" agent.log || fail "superseded not logged"
	[ "$(docker service inspect -f '{{.UpdateStatus.State}}' app_web)" = completed ] || fail "round $2 did not complete"
}
v1=$(push 1)
start 2s
wait_applied "$v1"
supersede 2 3
# a webhook: the poll is 10 minutes away
kill $apid; wait $apid 2>/dev/null
start 10m
for _ in $(seq 1 100); do [ "$(field '.role')" = leader ] && break; sleep 0.1; done
supersede 4 5 hook
"$SHOAL" status --agent "http://127.0.0.1:$aport" | tee status.txt
grep -q "superseded by" status.txt || fail "shoal status does not show the superseded commit"
echo "ok: a newer commit is applied at once while a rollout converges; the older is recorded superseded"

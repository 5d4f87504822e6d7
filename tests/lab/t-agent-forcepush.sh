# Force-push back to an older commit (the operator's quickest rollback:
# `git push -f origin GOOD:main`): the agent makes the swarm match the
# branch again, whether the newer commit failed (an image no node has: its
# update pauses) or was still rolling out (superseded).  The older commit
# was applied before, so "already applied" must not be taken from memory
# while the swarm holds the newer commit's spec.
. "$TOP/tests/lab/lib.sh"
need lighttpd jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1))
mkdir -p src/stacks/app
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
push() { push_rolling_web "$1" "$2"; }
back_to() { ( cd src && git reset -q --hard "$1" && git push -qf ../origin.git main ) || fail "force-push $1"; }
field() { agent_field "$aport" "$1"; }
round() { docker service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' app_web 2>/dev/null | grep -o 'ROUND=[0-9]*' | cut -d= -f2; }
wait_field() { # jq value seconds
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do [ "$(field "$1")" = "$2" ] && return 0; sleep 0.1; done
	tail -30 agent.log; fail "$1 is not $2 after $3 s: $(field "$1")"
}
wait_round() { # round seconds what
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do [ "$(round)" = "$1" ] && return 0; sleep 0.1; done
	tail -30 agent.log; fail "$3: the swarm still has round $(round), not $1, $2 s after the force-push"
}
v1=$(push 1 "$LAB_IMAGE")
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --converge-timeout 300s --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --run-dir "$T/run" >> agent.log 2>&1 &
apid=$!
wait_field .commit_applied "$v1" 120
# 1. the newer commit failed (its update pauses on an image no node has)
v2=$(push 2 shoal-lab/not-on-any-node:1)
wait_field .commit_failed "$v2" 120
[ "$(round)" = 2 ] || fail "round 2 was not written"
back_to "$v1"
wait_round 1 30 "force-push back over a failed commit"
wait_field '.history[0].commit' "$v1" 30
echo "ok: force-push back over a failed commit restores the older one"
# 2. the newer commit still rolling out (two 20 s stops): superseded by the
# older one, which must be written again
for _ in $(seq 1 1200); do [ "$(docker service inspect -f '{{.UpdateStatus.State}}' app_web)" = completed ] && break; sleep 0.1; done
v3=$(push 3 "$LAB_IMAGE")
wait_field .converging.commit "$v3" 60
for _ in $(seq 1 100); do [ "$(docker service inspect -f '{{.UpdateStatus.State}}' app_web)" = updating ] && break; sleep 0.1; done
[ "$(round)" = 3 ] || fail "round 3 was not written"
back_to "$v1"
wait_round 1 30 "force-push back during a rollout"
wait_field '.history[1].outcome' superseded 30
echo "ok: force-push back to an older commit makes the swarm match the branch again"

# kill -9 of the agent in the middle of an apply (a commit updating 100
# services, rotating a secret, moving services between networks, and
# rolling a 2-replica service that runs, a task at a time; 20 trials
# (KILL_TRIALS), early, middle, late, then at random points): a restarted
# agent converges to the commit with every object exactly once (no
# duplicated networks, secrets or services, nothing left of the previous
# commit), and says the commit applied only once the rollout completed.
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
n=100
gen() { # round: a stack of $n services (no tasks, so no image needed), two networks, a secret, and web
	mkdir -p src/stacks/many
	{
		echo 'version: "3.8"'
		echo services:
		printf '  web:\n    image: %s\n    command: ["sleep", "3600"]\n    environment: {ROUND: "%s"}\n' "$LAB_IMAGE" "$1"
		printf '    stop_grace_period: 1s\n    deploy:\n      replicas: 2\n'
		printf '      update_config: {parallelism: 1, monitor: 1s, order: stop-first}\n'
		for i in $(seq 1 $n); do
			printf '  s%02d:\n    image: shoal-lab/round:%s\n    networks: [net%s]\n' "$i" "$1" $(( (i + $1) % 2 ))
			printf '    secrets: [tok]\n    deploy: {replicas: 0}\n'
		done
		printf 'networks:\n  net0: {}\n  net1: {}\nsecrets:\n  tok:\n    file: ./tok.txt\n'
	} > src/stacks/many/many.yml
	printf 'token-%s\n' "$1" > src/stacks/many/tok.txt
}
mkdir -p src && ( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
start_agent() { "$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl 3s --cache "$T/cache.git" --run-dir "$T/run" >> agent.log 2>&1 & apid=$!; }
alive() { [ -e /proc/$1/stat ] && [ "$(sed 's/.*) //' /proc/$1/stat | cut -c1)" != Z ]; }
round_count() { # services already at round $1
	docker service ls --filter label=com.docker.stack.namespace=many --format '{{.Image}}' | grep -c "^shoal-lab/round:$1\$"
}
trials=${KILL_TRIALS:-20}
for r in $(seq 1 "$trials"); do
	gen $r
	( cd src && git add -A && git commit -qm "round $r" && git push -q ../origin.git main ) || fail "push $r"
	# kill when 1, ~n/3 or ~2n/3 of the services are written
	# the first trials early, middle, late; then random points
	case $r in 1) at=1 ;; 2) at=$((n / 3)) ;; 3) at=$((2 * n / 3)) ;; *) at=$((1 + RANDOM % (n - 5))) ;; esac
	start_agent
	killed=
	for _ in $(seq 1 600); do
		c=$(round_count $r)
		if [ "$c" -ge "$at" ]; then cyc=$(pgrep -P $apid | head -1); kill -9 $apid; killed=$c; break; fi
		sleep 0.02
	done
	wait $apid 2>/dev/null
	[ -n "$killed" ] || fail "round $r: the apply never started"
	# the killed agent's cycle process dies with it at once (no orphan
	# writing on; gone or a zombie within a second)
	if [ -n "$cyc" ]; then
		for _ in $(seq 1 20); do alive "$cyc" || break; sleep 0.05; done
		alive "$cyc" && fail "round $r: the cycle process $cyc outlived the killed agent"
	fi
	echo "round $r: killed with $(round_count $r)/$n services written"
	start_agent
	# converged: every service at this round and the previous secret gone
	# (rotation removes it last; the restarted agent first waits out the
	# killed one's lease, --lease-ttl 3s)
	for _ in $(seq 1 300); do
		[ "$(round_count $r)" = $n ] && [ "$(docker secret ls -q --filter name=many_tok_ | wc -l)" = 1 ] && break
		sleep 0.1
	done
	# applied only once web's rollout (a task at a time) has completed
	sha=$(git -C src rev-parse HEAD)
	for _ in $(seq 1 600); do grep -q "commit ${sha:0:12} applied" agent.log && break; sleep 0.1; done
	grep -q "commit ${sha:0:12} applied" agent.log || { tail agent.log; fail "round $r: not applied after the restart"; }
	[ "$(docker service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' many_web)" = "[\"ROUND=$r\"]" ] || fail "round $r: web not at this round"
	state=$(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' many_web)
	[ -z "$state" ] || [ "$state" = completed ] || fail "round $r: applied while web's update is $state"
	[ "$(docker service ls --filter name=many_web --format '{{.Replicas}}')" = 2/2 ] || fail "round $r: web $(docker service ls --filter name=many_web --format '{{.Replicas}}') when applied"
	kill $apid; wait $apid 2>/dev/null
	[ "$(round_count $r)" = $n ] || fail "round $r: $(round_count $r)/$n services converged after restart"
	[ "$(docker service ls -q --filter label=com.docker.stack.namespace=many | wc -l)" = $((n + 1)) ] || fail "round $r: service count"
	for net in many_net0 many_net1; do
		[ "$(docker network ls --format "{{.Name}}" | grep -cx "$net")" = 1 ] || { docker network ls; fail "round $r: $net not exactly once"; }
	done
	secrets=$(docker secret ls --format '{{.Name}}' | grep '^many_tok_')
	[ "$(echo "$secrets" | wc -l)" = 1 ] || fail "round $r: secrets $secrets"
	docker service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}}{{end}}' many_s01 | grep -qx "$secrets" ||
		fail "round $r: services do not use the current secret"
done
grep -q "applied" agent.log || fail "no apply logged"
echo "ok: $trials kill -9 mid-apply, each restart converged, objects exactly once (0 lost, 0 duplicated)"
# the cycle's own process killed mid-apply: the agent stays up, says so,
# and its next cycle converges
c=$((trials + 1))
gen $c
( cd src && git add -A && git commit -qm "round $c" && git push -q ../origin.git main ) || fail "push $c"
aport=$((GIT_PORT + 1))
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl 3s --cache "$T/cache.git" --run-dir "$T/run" --listen 127.0.0.1:$aport >> agent.log 2>&1 &
apid=$!
killed=
for _ in $(seq 1 600); do
	if [ "$(round_count $c)" -ge 30 ]; then
		child=$(pgrep -P $apid | head -1)
		[ -n "$child" ] && kill -9 "$child" && killed=1
		break
	fi
	sleep 0.02
done
[ -n "$killed" ] || fail "round $c: no cycle process to kill"
echo "round $c: cycle process killed with $(round_count $c)/$n services written"
for _ in $(seq 1 300); do [ "$(round_count $c)" = $n ] && break; sleep 0.1; done
[ "$(round_count $c)" = $n ] || fail "round $c: $(round_count $c)/$n after the cycle was killed"
kill -0 $apid || fail "the agent died with its cycle"
grep -q 'cycle ended without a result' agent.log || fail "the lost cycle was not logged"
curl -fs "http://127.0.0.1:$aport/healthz" >/dev/null || fail "agent not healthy after a lost cycle"
kill $apid; wait $apid 2>/dev/null
echo "ok: the agent outlives a killed cycle"

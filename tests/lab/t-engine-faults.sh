# The engine misbehaving under an apply.  Through a fault-injecting proxy in
# front of the real engine (fault-proxy.py: every 3rd write answered 500
# or 409 without effect, or carried out and then answered 500, dropped, or
# stalled past the client's timeout), applies that create, update and prune
# a 24-service stack converge: every object exactly once, nothing left to
# do.  Then the engine itself is restarted in the middle of an apply: the
# apply waits for it, retries, and converges.
. "$TOP/tests/lab/lib.sh"
ppid_=
trap 'kill $ppid_ 2>/dev/null' EXIT
make_repo repo
rm -rf repo/stacks/mongo repo/stacks/kittenapi # not needed here; keeps the run short
gen() { # image tag suffix: a stack of 24 services, a network, a secret, a config
	mkdir -p repo/stacks/many
	printf 'token-%s\n' "$2" > repo/stacks/many/token.txt
	{
		printf 'services:\n'
		for i in $(seq 1 24); do
			printf '  s%02d:\n    image: %s\n    environment: {ROUND: "%s"}\n    networks: [inner]\n' "$i" "$1" "$2"
			[ "$i" -le 4 ] && printf '    secrets: [token]\n    configs: [{source: conf, target: /conf}]\n'
		done
		printf 'networks:\n  inner: {driver: overlay}\nsecrets:\n  token: {file: ./token.txt}\nconfigs:\n  conf: {file: ./token.txt}\n'
	} > repo/stacks/many/many.yml
}
engine=$DOCKER_HOST
python3 "$TOP/tests/lab/fault-proxy.py" "$T/proxy.sock" "${engine#unix://}" "$T/proxy.log" 3 5 &
ppid_=$!
for _ in $(seq 1 50); do [ -S "$T/proxy.sock" ] && break; sleep 0.1; done
via_proxy() { DOCKER_HOST="unix://$T/proxy.sock" SHOAL_ENGINE_TIMEOUT=2 "$@"; }
in_sync() { # the real engine, no proxy: nothing left to do (a removed
	# network leaves the swarm's list asynchronously: a few seconds' grace)
	for _ in $(seq 1 20); do "$SHOAL" plan repo > plan.out 2>&1 && return 0; sleep 0.5; done
	cat plan.out; fail "not converged after $1"
}
no_duplicates() {
	local d
	d=$( { docker network ls --format '{{.Name}}'; docker service ls --format '{{.Name}}';
	       docker secret ls --format '{{.Name}}'; docker config ls --format '{{.Name}}'; } | sort | uniq -d)
	[ -z "$d" ] || fail "duplicated after $1: $d"
}

gen "$LAB_IMAGE" 1
via_proxy "$SHOAL" apply repo > a1.out 2>&1 || { cat a1.out; fail "create through faults"; }
in_sync create; no_duplicates create
[ "$(docker service ls -q --filter label=com.docker.stack.namespace=many | wc -l)" = 24 ] || fail "24 services expected"
gen shoal-lab/busybox:latest 2 # every service updated, the secret and config rotated
via_proxy "$SHOAL" apply repo > a2.out 2>&1 || { cat a2.out; fail "update through faults"; }
in_sync update; no_duplicates update
rm -rf repo/stacks/many # pruned
via_proxy "$SHOAL" apply repo > a3.out 2>&1 || { cat a3.out; fail "prune through faults"; }
in_sync prune; no_duplicates prune
[ -z "$(docker service ls -q --filter label=com.docker.stack.namespace=many)" ] || fail "services of the pruned stack left"
# the cluster has removed it once in sync; the node lists its own copy
# until the stopped tasks have let go of it
gone=0
for _ in $(seq 1 60); do
	if docker network ls --format '{{.Name}}' | grep -qx many_inner; then gone=0; else gone=$((gone + 1)); fi
	[ $gone = 3 ] && break
	sleep 0.5
done
[ $gone = 3 ] || fail "the pruned stack's network left"
for k in 500-before 500-after drop-after stall-after 409-before; do
	c=$(grep -c "^fault $k " proxy.log)
	[ "$c" -ge 3 ] || fail "only $c faults of kind $k were injected"
done
echo "proxy: $(grep -c '^fault' proxy.log) faults in $(wc -l < proxy.log) requests; retries logged: $(cat a1.out a2.out a3.out | grep -c retrying)"

# --- the engine restarted in the middle of an apply (writes slowed down by
# a proxy without faults, so that the restart falls inside the apply)
kill $ppid_; wait $ppid_ 2>/dev/null
python3 "$TOP/tests/lab/fault-proxy.py" "$T/slow.sock" "${engine#unix://}" "$T/slow.log" 0 0 0.2 &
ppid_=$!
for _ in $(seq 1 50); do [ -S "$T/slow.sock" ] && break; sleep 0.1; done
gen "$LAB_IMAGE" 3
DOCKER_HOST="unix://$T/slow.sock" "$SHOAL" apply repo > b1.out 2>&1 &
apply=$!
# (the apply's own output is buffered: count the writes the proxy passed)
created() { cat slow.log 2>/dev/null | grep -c 'services/create 201'; }
for _ in $(seq 1 200); do [ "$(created)" -ge 3 ] && break; sleep 0.05; done
[ "$(created)" -ge 3 ] || { cat b1.out; fail "the apply did not start"; }
lab_dockerd_stop || fail "the engine did not stop"
sleep 2
lab_dockerd_start || fail "the engine did not come back"
wait $apply || { cat b1.out; fail "the apply did not survive the engine restart"; }
grep -q "retrying" b1.out || { cat b1.out; fail "the restart went unnoticed"; }
for _ in $(seq 1 100); do docker node ls --format '{{.Status}}' 2>/dev/null | grep -q Ready && break; sleep 0.2; done
in_sync restart; no_duplicates restart
echo "engine restart: $(grep -c retrying b1.out) retries, then converged"

# A stack removed and deployed again at once: the node keeps listing its
# copy of the removed network while the old task stops (10 s for a process
# that ignores SIGTERM), and docker stack deploy, taking that copy for the
# network, fails with "network not found". shoal creates the network again.
. "$TOP/tests/lab/lib.sh"
cat > rr.yml <<YML
services:
  s:
    image: $LAB_IMAGE
    command: sleep 3600
YML
"$SHOAL" stack deploy --resolve-image never -c rr.yml rr > d1.txt 2>&1 || { cat d1.txt; fail "deploy"; }
for _ in $(seq 1 60); do
	[ -n "$(docker ps -q --filter label=com.docker.swarm.service.name=rr_s)" ] && break
	sleep 0.5
done
[ -n "$(docker ps -q --filter label=com.docker.swarm.service.name=rr_s)" ] || fail "the task never ran"
"$SHOAL" stack rm rr > rm.txt 2>&1 || { cat rm.txt; fail "stack rm"; }
# the node's copy of rr_default is still listed (the task has 10 s to stop)
docker network ls --format '{{.Name}}' | grep -qx rr_default || fail "no stale copy to test with (the task stopped at once?)"
"$SHOAL" stack deploy --resolve-image never -c rr.yml rr > d2.txt 2>&1 || { cat d2.txt; fail "deploy right after rm"; }
cat d2.txt
grep -qx 'Created network rr_default' d2.txt || fail "the network was not created again"
docker service inspect rr_s >/dev/null || fail "no service"
# and the stack goes away cleanly (the stale copy is not the API's to remove)
"$SHOAL" stack rm rr > rm2.txt 2>&1 || { cat rm2.txt; fail "second stack rm"; }
true

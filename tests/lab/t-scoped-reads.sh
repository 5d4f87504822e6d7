# Cost that follows the stack (issue 20): shoal reads the objects of the
# stacks it plans and what they name, never the rest of the swarm, and
# loses none of its checks for it.  An engine proxy (read-proxy.py)
# records every request and the names of the objects each answer holds.
# - stack deploy: an unchanged redeploy and an update that publishes no new
#   port read nothing of another stack or of a service outside any stack;
#   a fresh deploy that publishes a new port reads the whole services
#   list once, one that publishes none only the services named as its
#   own in any case (names are case-insensitive to the engine: a name
#   taken in another case is found);
# - a port another stack's service publishes is refused before any write,
#   on a fresh deploy and on an update that adds the port (docker refuses
#   the same deploy);
# - repository mode: plan/apply read managed objects and what the
#   repository names; a stack deployed by docker under a name the
#   repository uses is still a conflict, --adopt takes it over, and a
#   service of the same name in another case is still refused.
. "$TOP/tests/lab/lib.sh"
need jq
compare_cli || exit 77
log=$T/proxy.log
python3 "$TOP/tests/lab/read-proxy.py" "$T/proxy.sock" "${DOCKER_HOST#unix://}" "$log" &
ppid_=$!
trap 'kill $ppid_ 2>/dev/null' EXIT
for _ in $(seq 1 100); do [ -S "$T/proxy.sock" ] && break; sleep 0.1; done
[ -S "$T/proxy.sock" ] || fail "proxy did not start"
P="unix://$T/proxy.sock"
svc() { # name port [mode]: a service of replicas 0
	printf '  %s:\n    image: %s\n    deploy: {replicas: 0}\n' "$1" "$LAB_IMAGE"
	[ -n "${2:-}" ] && printf '    ports:\n      - {target: 80, published: %s, mode: %s}\n' "$2" "${3:-ingress}"
	true
}
# the names of the objects the logged GET answers held
read_names() { jq -r 'select(.method == "GET") | .names[]?' "$log" | sort -u; }
# reads whose answers held an object of another stack or outside any
foreign_reads() { jq -c 'select(.method == "GET" and ((.names // []) | any(startswith("other_") or . == "loner")))' "$log"; }
writes() { jq -c 'select(.method != "GET" and .method != "HEAD")' "$log"; }
# a read check that fails says so and the scenario goes on (each one is
# seen failing on a shoal that lists the whole swarm); fails at the end
failed=
misread() { echo "FAIL: $*"; failed=1; }

# --- the rest of the swarm: a stack deployed by docker, a lone service ---
{ echo 'services:'; svc o1 7000; svc o2; echo 'secrets: {osec: {file: ./osec}}'; echo 'configs: {ocfg: {file: ./osec}}'; } > other.yml
printf 'x' > osec
"$DOCKER28" stack deploy --resolve-image never -c other.yml other >/dev/null 2>&1 || fail "docker stack deploy other"
docker service create -d -q --name loner --replicas 0 "$LAB_IMAGE" >/dev/null 2>&1 || fail "docker service create loner"
docker network create -d overlay shared >/dev/null || fail "network shared"
printf 'y' | docker secret create extsec - >/dev/null || fail "secret extsec"

# --- (a) stack deploy reads its stack ---
cat > mine.yml <<EOF
services:
$(svc web 8080)
    networks: [default, shared]
    secrets: [extsec, own]
$(svc db)
networks: {shared: {external: true}}
secrets:
  extsec: {external: true}
  own: {file: ./osec}
EOF
: > "$log"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c mine.yml mine > d1.txt 2>&1 || { cat d1.txt; fail "fresh deploy"; }
# a fresh deploy creates services and a network: the names of the whole
# swarm, once each, for the engine's case-insensitive names
[ "$(foreign_reads | jq -r 'select(.filters == null) | .path' | sort | tr '\n' ' ')" = "/networks /services " ] ||
	{ foreign_reads; misread "fresh deploy: other reads than the services and networks lists, once each"; }
: > "$log"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c mine.yml mine > d2.txt 2>&1 || { cat d2.txt; fail "redeploy"; }
grep -q 'up to date' d2.txt || { cat d2.txt; fail "redeploy was not a no-op"; }
[ -z "$(writes)" ] || { writes; fail "unchanged redeploy wrote"; }
[ -z "$(foreign_reads)" ] || { foreign_reads; misread "unchanged redeploy read other stacks' objects"; }
unexpected=$(read_names | grep -vE '^(mine_|shared$|extsec$|ingress$)')
[ -z "$unexpected" ] || misread "unchanged redeploy read: $unexpected"
jq -e -s 'map(select(.path == "/services" and .method == "GET")) | length > 0 and all(.filters.label == ["com.docker.stack.namespace=mine"])' "$log" >/dev/null ||
	misread "services not read by the stack's label"
# an update that publishes no new port (db's environment) reads no more
sed -i '/^  db:/a\    environment: [V=2]' mine.yml
: > "$log"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c mine.yml mine > d3.txt 2>&1 || { cat d3.txt; fail "update"; }
[ "$(writes | jq -r .path)" = "/services/$(docker service inspect -f '{{.ID}}' mine_db)/update" ] || { writes; fail "update wrote other than db"; }
[ -z "$(foreign_reads)" ] || { foreign_reads; misread "update read other stacks' objects"; }

# a service labelled into the stack by hand under another name: a deploy
# leaves it alone (it reads the stack's services by name and label), a
# deploy --prune removes it (it reads them by label alone, as docker does)
docker service create -d -q --name handmade --label com.docker.stack.namespace=mine --replicas 0 "$LAB_IMAGE" >/dev/null 2>&1 ||
	fail "create handmade"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c mine.yml mine > h1.txt 2>&1 || { cat h1.txt; fail "deploy beside handmade"; }
docker service inspect handmade >/dev/null 2>&1 || fail "handmade removed without --prune"
DOCKER_HOST=$P "$SHOAL" stack deploy --prune --resolve-image never -c mine.yml mine > h2.txt 2>&1 || { cat h2.txt; fail "deploy --prune"; }
docker service inspect handmade >/dev/null 2>&1 && { cat h2.txt; fail "handmade not pruned (docker stack deploy --prune removes it)"; }

# a fresh deploy that publishes no port reads the services named as its
# own in any case (the engine's names are case-insensitive, its name filter
# is not), never the list of every service: NoPort_b holds noport_b
docker service create -d -q --name NoPort_b --replicas 0 "$LAB_IMAGE" >/dev/null 2>&1 || fail "create NoPort_b"
{ echo 'services:'; svc a; svc b; } > noport.yml
every_service() { jq -c 'select(.method == "GET" and .path == "/services" and .filters == null)' "$log"; }
: > "$log"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c noport.yml noport > n1.txt 2>&1 && fail "noport_b created over NoPort_b"
grep -q 'service noport_b cannot be created: service NoPort_b exists' n1.txt || { cat n1.txt; fail "NoPort_b not found"; }
[ -z "$(writes)" ] || { writes; fail "noport: wrote before refusing"; }
[ -z "$(every_service)" ] || misread "a fresh deploy without ports read every service"
docker service rm NoPort_b >/dev/null
: > "$log"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c noport.yml noport > n3.txt 2>&1 || { cat n3.txt; fail "noport after NoPort_b removed"; }
docker service inspect noport_a noport_b >/dev/null || fail "noport not deployed"
[ -z "$(every_service)" ] || misread "a fresh deploy without ports read every service"
foreign_reads | jq -e 'select(.path == "/services")' && misread "a fresh deploy without ports read other stacks' services"
docker stack rm noport >/dev/null 2>&1

# --- (b) a port another stack holds: refused before any write ---
{ echo 'services:'; svc c 7000; } > clash.yml
: > "$log"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c clash.yml clash > c1.txt 2>&1 && fail "clash deployed"
cat c1.txt
grep -q 'service clash_c publishes port 7000/tcp in ingress mode, and service other_o1 publishes it' c1.txt || fail "conflict not named"
[ -z "$(writes)" ] || { writes; fail "clash: wrote before refusing"; }
"$DOCKER28" stack deploy --resolve-image never -c clash.yml dclash > c2.txt 2>&1 && fail "docker deployed the clash (the engine takes it?)"
grep -qi 'port .*7000.*in use\|already in use\|port.*7000' c2.txt || { cat c2.txt; fail "docker failed otherwise"; }
docker stack rm dclash >/dev/null 2>&1
# an update of a deployed stack that adds the port: the swarm-wide read
sed -i 's/^  db:/&\n    ports: ["7000:81"]/' mine.yml
: > "$log"
DOCKER_HOST=$P "$SHOAL" stack deploy --resolve-image never -c mine.yml mine > c3.txt 2>&1 && fail "update to a taken port applied"
grep -q 'service mine_db publishes port 7000/tcp in ingress mode, and service other_o1 publishes it' c3.txt || { cat c3.txt; fail "update conflict not named"; }
[ -z "$(writes)" ] || { writes; fail "update conflict: wrote"; }
sed -i '/7000:81/d' mine.yml

# --- (c) repository mode ---
mkdir -p r/stacks/a r/stacks/b r/stacks/legacy
{ echo 'services:'; svc web 8100; echo '    networks: [default, shared]'; echo 'networks: {shared: {external: true}}'; } > r/stacks/a/a.yml
b_yml() { echo 'services:'; svc api; echo '    secrets: [tok]'; "$@"; echo 'secrets: {tok: {file: ./tok}}'; }
b_yml true > r/stacks/b/b.yml
printf 't' > r/stacks/b/tok
{ echo 'services:'; svc app; } > r/stacks/legacy/legacy.yml
"$DOCKER28" stack deploy --resolve-image never -c r/stacks/legacy/legacy.yml legacy >/dev/null 2>&1 || fail "docker deploy legacy"
: > "$log"
DOCKER_HOST=$P "$SHOAL" apply r > r1.txt 2>&1; rc=$?
cat r1.txt
[ $rc != 0 ] || fail "apply with legacy deployed by docker succeeded"
grep -q 'stack legacy was deployed by other means' r1.txt || fail "legacy not a conflict"
docker service inspect a_web b_api >/dev/null || fail "a and b not applied"
[ -z "$(docker service inspect -f '{{index .Spec.Labels "io.shoal.managed"}}' legacy_app)" ] || fail "legacy written"
: > "$log"
DOCKER_HOST=$P "$SHOAL" plan r > r2.txt 2>&1; rc=$?
[ $rc = 1 ] || { cat r2.txt; fail "plan: exit $rc, expected 1 (legacy's conflict)"; }
[ -z "$(foreign_reads)" ] || { foreign_reads; misread "repository plan read other stacks' objects"; }
unexpected=$(read_names | grep -vE '^(a_|b_|legacy_|shared$|ingress$)')
[ -z "$unexpected" ] || misread "repository plan read: $unexpected"
# a service of another case holds a name the repository creates
docker service create -d -q --name B_worker --replicas 0 "$LAB_IMAGE" >/dev/null 2>&1 || fail "create B_worker"
b_yml svc worker > r/stacks/b/b.yml
: > "$log"
DOCKER_HOST=$P "$SHOAL" apply --adopt legacy r > r3.txt 2>&1; rc=$?
cat r3.txt
[ $rc != 0 ] || fail "apply with b_worker taken succeeded"
grep -q 'service b_worker cannot be created: service B_worker exists' r3.txt || fail "case-insensitive name not found"
[ "$(docker service inspect -f '{{index .Spec.Labels "io.shoal.managed"}}' legacy_app)" = true ] || fail "legacy not adopted"
docker service inspect b_worker >/dev/null 2>&1 && fail "b_worker created"
docker service rm B_worker >/dev/null
: > "$log"
DOCKER_HOST=$P "$SHOAL" apply r > r4.txt 2>&1 || { cat r4.txt; fail "apply after B_worker removed"; }
docker service inspect b_worker >/dev/null || fail "b_worker not created"
: > "$log"
DOCKER_HOST=$P "$SHOAL" plan r > r5.txt 2>&1 || { cat r5.txt; fail "plan not in sync"; }
[ -z "$(writes)" ] || fail "plan wrote"
[ -z "$(foreign_reads)" ] || { foreign_reads; misread "repository plan read other stacks' objects"; }
unexpected=$(read_names | grep -vE '^(a_|b_|legacy_|shared$|ingress$)')
[ -z "$unexpected" ] || misread "repository plan read: $unexpected"
# the agent: its apply and its convergence wait (a service that runs, so
# the wait reads task counts until it does) read only managed objects and
# the services it waits for
mkdir -p r/stacks/c
printf 'services:\n  web:\n    image: %s\n    deploy: {replicas: 1}\n' "$LAB_IMAGE" > r/stacks/c/c.yml
git init -q --bare agent.git
( cd r && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git add -A && git commit -qm agent && git push -q ../agent.git main ) || fail "agent repository"
: > "$log"
DOCKER_HOST=$P "$SHOAL" agent --once --repo "$T/agent.git" --cache "$T/acache.git" --run-dir "$T/arun" \
	--converge-timeout 60s > ag.txt 2>&1 || { cat ag.txt; fail "agent --once"; }
[ "$(docker service ls --filter name=c_web --format '{{.Replicas}}')" = 1/1 ] || fail "c_web not running after the wait"
jq -r 'select(.method == "GET" and .path == "/services") | (.filters | objects | .name // empty) | .[]?' "$log" | grep -qx c_web ||
	fail "the agent's convergence wait was not seen"
# (the networks list is read whole, as by any deploy creating a network:
# the engine's network names are case-insensitive too)
[ -z "$(foreign_reads | grep -v '"path":"/networks"')" ] ||
	{ foreign_reads | grep -v '"path":"/networks"' | head -3; misread "the agent read other stacks' objects"; }
[ -z "$failed" ] || fail "shoal read more than its stacks and what they name"

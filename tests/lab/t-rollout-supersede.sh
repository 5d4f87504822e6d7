# The newest commit wins during a rollout's waves too: app depends on db
# (x-shoal.depends_on); commit v2 changes both, and db's new task takes ten
# minutes to become healthy, so app waits in wave 2.  A commit v3 pushed
# meanwhile calls v2's rollout off within a poll (2 s): app is never
# written with v2's settings, v3 goes out (db, then app) without waiting for
# v2's db (bound: 5 minutes, for a loaded machine), and v2 is recorded
# superseded.
. "$TOP/tests/lab/lib.sh"
need lighttpd jq bc
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1))
mkdir -p src/stacks/db src/stacks/app
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
push() { # gen db-delay: db healthy DELAY s after its task starts; both with GEN=gen
	cat > src/stacks/db/db.yml <<YML
version: "3.8"
services:
  db:
    image: $LAB_IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep \$\$DELAY; touch /tmp/ready; while :; do sleep 1; done"]
    environment: {GEN: "$1", DELAY: "$2"}
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 1000
    stop_grace_period: 2s
YML
	cat > src/stacks/app/app.yml <<YML
version: "3.8"
x-shoal:
  depends_on: [db]
services:
  web:
    image: $LAB_IMAGE
    environment: {GEN: "$1"}
    deploy:
      replicas: 2
YML
	( cd src && git add -A && git commit -qm "gen $1" && git push -q ../origin.git main ) || fail "push gen $1"
	git -C src rev-parse HEAD
}
field() { curl -fs --max-time 5 "http://127.0.0.1:$aport/status" | jq -r "$1 // empty" 2>/dev/null; }
gen() { docker service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' "$1" 2>/dev/null | grep -o 'GEN=[0-9]*' | cut -d= -f2; }
wait_applied() { for _ in $(seq 1 3000); do [ "$(field '.commit_applied')" = "$1" ] && return 0; sleep 0.1; done; tail -30 agent.log; fail "$1 not applied"; }
v1=$(push 1 1)
"$SHOAL" agent --repo "$GIT_URL" --interval 2s --converge-timeout 900s --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --run-dir "$T/run" >> agent.log 2>&1 &
apid=$!
wait_applied "$v1"
[ "$(gen app_web)" = 1 ] || fail "v1: app not written"
# v2: db's new task is healthy only after 600 s; app waits for it
v2=$(push 2 600)
for _ in $(seq 1 600); do [ "$(gen db_db)" = 2 ] && break; sleep 0.1; done
[ "$(gen db_db)" = 2 ] || { tail -30 agent.log; fail "v2: db not written"; }
for _ in $(seq 1 100); do [ "$(docker service inspect -f '{{.UpdateStatus.State}}' db_db)" = updating ] && break; sleep 0.1; done
[ "$(docker service inspect -f '{{.UpdateStatus.State}}' db_db)" = updating ] || fail "v2: db's update is not under way"
[ "$(gen app_web)" = 1 ] || fail "v2: app written before db converged"
# v3 while v2's wave 1 converges: no waiting for v2's db
v3=$(push 3 1)
t0=$(date +%s.%N)
# (v2's db alone takes 600 s to converge: v3 must not wait for it)
for _ in $(seq 1 3000); do
	[ "$(gen app_web)" = 3 ] && break
	[ "$(echo "$(date +%s.%N) - $t0 < 300" | bc)" = 1 ] || break
	sleep 0.1
done
t1=$(date +%s.%N)
[ "$(gen app_web)" = 3 ] || { tail -40 agent.log; fail "v3: app not written within 300 s (waiting behind v2's rollout?)"; }
s=$(echo "$t1 - $t0" | bc)
echo "v3 pushed during v2's first wave: app written with v3's settings after $(echo "$s" | cut -c1-5) s"
# app was never written with v2's settings: its previous spec is v1's
prev=$(docker service inspect -f '{{json .PreviousSpec.TaskTemplate.ContainerSpec.Env}}' app_web | grep -o 'GEN=[0-9]*')
[ "$prev" = GEN=1 ] || fail "app was written with v2's settings (its previous spec has $prev)"
wait_applied "$v3"
[ "$(field '.history[0].commit') $(field '.history[0].outcome')" = "$v3 applied" ] || fail "history[0]: $(field '.history[0]')"
[ "$(field '.history[1].commit') $(field '.history[1].outcome') $(field '.history[1].superseded_by')" = "$v2 superseded $v3" ] ||
	fail "history[1]: $(field '.history[1]')"
grep -q "commit ${v2:0:12} superseded by ${v3:0:12}" agent.log || fail "superseded not logged"
true

# Stacks roll out in waves: app declares x-shoal.depends_on: [db], so its
# services are created (and later updated) only once db's task runs and
# its healthcheck passed - seen from the engine's own times.  plan shows
# the waves; an unchanged repository writes nothing and waits for nothing;
# a cycle or an unknown name is refused at its file:line:column.
. "$TOP/tests/lab/lib.sh"
mkdir -p repo/stacks/db repo/stacks/app
# db becomes healthy ~3 s after its container starts
cat > repo/stacks/db/db.yml <<YML
version: "3.8"
services:
  db:
    image: $LAB_IMAGE
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3; touch /tmp/ready; while :; do sleep 1; done"]
    environment:
      GEN: "1"
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 1s
      timeout: 1s
      retries: 30
    stop_grace_period: 2s
YML
cat > repo/stacks/app/app.yml <<YML
version: "3.8"
x-shoal:
  depends_on: [db]
services:
  web:
    image: $LAB_IMAGE
    environment:
      GEN: "1"
    deploy:
      replicas: 2
YML
expect_rc 2 "$SHOAL" plan repo > plan.txt
cat plan.txt
grep -q '^  wave 1: db$' plan.txt || fail "plan does not show db in wave 1"
grep -q '^  wave 2: app (after db)$' plan.txt || fail "plan does not show app in wave 2 after db"
"$SHOAL" plan --format json repo > plan.json
python3 - <<'PY' || fail "json plan waves"
import json
w = json.load(open("plan.json"))["waves"]
assert [[s["stack"] for s in x["stacks"]] for x in w] == [["db"], ["app"]], w
assert w[1]["stacks"][0]["after"] == ["db"], w
PY
"$SHOAL" apply repo > apply1.txt 2>&1 || { cat apply1.txt; fail "first apply"; }
cat apply1.txt

# when db's task reached running (healthy: a task with a healthcheck
# reports running only then) vs when app's service was created
order_check() { # what: created|updated
	python3 - "$1" "$(docker service inspect app_web)" "$(docker inspect $(docker service ps -q --filter desired-state=running db_db))" <<'PY'
import json, sys, re
what, svc, tasks = sys.argv[1], json.loads(sys.argv[2])[0], json.loads(sys.argv[3])
def ts(s):  # RFC 3339 with nanoseconds, UTC
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z", s)
    import calendar
    y, mo, d, h, mi, se = map(int, m.groups()[:6])
    frac = float("0." + (m.group(7) or "0"))
    return calendar.timegm((y, mo, d, h, mi, se)) + frac
running = [t for t in tasks if t["Status"]["State"] == "running"]
assert running, "db has no running task"
db_ready = max(ts(t["Status"]["Timestamp"]) for t in running)
app_t = ts(svc["CreatedAt"] if what == "created" else svc["UpdatedAt"])
print(f"db running (healthy) at {db_ready:.3f}, app {what} at {app_t:.3f}: {app_t - db_ready:+.3f} s")
sys.exit(0 if app_t >= db_ready else 1)
PY
}
order_check created || fail "app was created before db's task was running and healthy"
[ "$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' app_web)" = 2 ] || fail "app replicas"

# both change: app is updated only after db's update completed and its new
# task runs
sed -i 's/GEN: "1"/GEN: "2"/' repo/stacks/db/db.yml repo/stacks/app/app.yml
"$SHOAL" apply repo > apply2.txt 2>&1 || { cat apply2.txt; fail "second apply"; }
cat apply2.txt
order_check updated || fail "app was updated before db's new task was running and healthy"

# nothing changed: no write, no wait
before=$(all_versions)
s=$(date +%s%N)
"$SHOAL" apply repo > apply3.txt 2>&1 || { cat apply3.txt; fail "no-op apply"; }
e=$(date +%s%N)
grep -q '(0 write requests;' apply3.txt || { cat apply3.txt; fail "a no-op apply wrote"; }
[ "$before" = "$(all_versions)" ] || fail "versions changed on a no-op apply"
echo "no-op apply: $(( (e - s) / 1000000 )) ms"
# only app changes: its dependency is not waited for (it did not change)
sed -i 's/GEN: "2"/GEN: "3"/' repo/stacks/app/app.yml
"$SHOAL" apply repo > apply4.txt 2>&1 || { cat apply4.txt; fail "app-only apply"; }
grep -q '(1 write request;' apply4.txt || { cat apply4.txt; fail "app-only apply: expected one write"; }

# a cycle and an unknown stack: errors at their place, nothing applied
mkdir -p bad && cp -r repo/stacks bad/
printf 'x-shoal:\n  depends_on:\n    - app\n' >> bad/stacks/db/db.yml
expect_rc 1 "$SHOAL" validate bad 2> val.txt
cat val.txt
# (the dependency that closes the cycle, found from the first stack by name)
grep -q '^bad/stacks/db/db.yml:16:7: error: x-shoal.depends_on: a cycle: app -> db -> app$' val.txt ||
	fail "cycle not reported at its place"
mkdir -p bad2 && cp -r repo/stacks bad2/
sed -i 's/depends_on: \[db\]/depends_on: [db, cache]/' bad2/stacks/app/app.yml
expect_rc 1 "$SHOAL" validate bad2 2> val2.txt
cat val2.txt
grep -q '^bad2/stacks/app/app.yml:3:20: error: x-shoal.depends_on: no stack cache in this repository' val2.txt ||
	fail "unknown dependency not reported at its place"
before=$(all_versions)
sed -i 's/GEN: "3"/GEN: "4"/' bad2/stacks/app/app.yml
expect_rc 1 "$SHOAL" apply bad2 > apply5.txt 2>&1
[ "$before" = "$(all_versions)" ] || fail "a stack with an unknown dependency was written"
true

# Hooks: replicated-job services labelled io.shoal.hook=pre|post run before
# and after the rest of their stack's changes, only when the stack changed.
# A failing pre-hook stops the stack (no service of it written: versions
# compared) and fails the apply; a failing post-hook fails it; a hook's
# output is shown, scrubbed of the secrets it was given.
. "$TOP/tests/lab/lib.sh"
mkdir -p repo/stacks/app
printf 'hook-token-%s\n' "$RANDOM$RANDOM$RANDOM" > repo/stacks/app/token.txt
token=$(cat repo/stacks/app/token.txt)
write_app() { # web generation, pre exit code, post exit code
	cat > repo/stacks/app/app.yml <<YML
version: "3.8"
x-hook: &hook
  image: $LAB_IMAGE
  secrets: [token]
  deploy: &hookdeploy
    mode: replicated-job
    restart_policy: {condition: none}
services:
  web:
    image: $LAB_IMAGE
    environment: {GEN: "$1"}
    deploy:
      replicas: 2
  migrate:
    <<: *hook
    command: ["sh", "-c", "echo pre-hook ran; echo token is \$\$(cat /run/secrets/token); exit $2"]
    deploy:
      <<: *hookdeploy
      labels: {io.shoal.hook: pre}
  seed:
    <<: *hook
    command: ["sh", "-c", "echo post-hook ran; exit $3"]
    deploy:
      <<: *hookdeploy
      labels: {io.shoal.hook: post}
secrets:
  token:
    file: ./token.txt
YML
}
# times from the engine, as seconds: ts OBJECT-JSON-PATH...
ts() { python3 -c '
import sys, re, calendar
m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z", sys.argv[1].strip().strip(chr(34)))
print("%.6f" % (calendar.timegm(tuple(map(int, m.groups()[:6]))) + float("0." + (m.group(7) or "0"))))' "$1"; }
later() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }
created() { ts "$(docker service inspect -f '{{json .CreatedAt}}' "$1")"; }
task_time() { ts "$(docker inspect -f '{{json .Status.Timestamp}}' "$1")"; }
# the end of the last task of a job service (its complete/failed state)
job_end() { task_time "$(docker service ps -q "$1" | head -1)"; }

write_app 1 0 0
"$SHOAL" plan repo > plan.txt; cat plan.txt
grep -q 'wave 1: app (pre-hook app_migrate; post-hook app_seed)' plan.txt || fail "plan does not show the hooks"
"$SHOAL" apply repo > apply1.txt 2>&1 || { cat apply1.txt; fail "first apply"; }
cat apply1.txt
grep -q '^Hook app_migrate (pre) succeeded, output:$' apply1.txt || fail "pre-hook not reported"
grep -q '^  | pre-hook ran$' apply1.txt || fail "pre-hook output not shown"
grep -q '^  | token is (secret token)$' apply1.txt || fail "the secret the hook printed is not scrubbed"
grep -q "$token" apply1.txt && fail "the hook's secret shown"
grep -q '^  | post-hook ran$' apply1.txt || fail "post-hook output not shown"
# the order, from the engine: migrate completed before web was created;
# seed created after web's tasks ran
pre_end=$(job_end app_migrate)
web_created=$(created app_web)
seed_created=$(created app_seed)
web_running=$(for t in $(docker service ps -q --filter desired-state=running app_web); do task_time "$t"; done | sort -n | tail -1)
echo "pre-hook ended $pre_end, web created $web_created, web running $web_running, post-hook created $seed_created"
later "$web_created" "$pre_end" || fail "web was created before the pre-hook completed"
later "$seed_created" "$web_running" || fail "the post-hook was created before web's tasks ran"

# nothing changed: no hook runs, nothing written
"$SHOAL" plan repo > plan2.txt; rc=$?
[ $rc = 0 ] || { cat plan2.txt; fail "plan after apply: exit $rc, expected 0 (in sync)"; }
before=$(all_versions)
"$SHOAL" apply repo > apply2.txt 2>&1 || { cat apply2.txt; fail "no-op apply"; }
grep -q '(0 write requests;' apply2.txt || { cat apply2.txt; fail "no-op apply wrote"; }
grep -q '^Hook' apply2.txt && fail "a hook ran with nothing changed"
[ "$before" = "$(all_versions)" ] || fail "versions changed"

# a failing pre-hook: web (changed) and seed are not written
write_app 2 3 0
before=$(docker service inspect -f '{{.Spec.Name}} {{.Version.Index}}' app_web app_seed)
expect_rc 1 "$SHOAL" apply repo > apply3.txt 2>&1
cat apply3.txt
grep -q 'pre-hook app_migrate failed: task failed with exit code 3' apply3.txt || fail "pre-hook failure not said"
grep -q '^Hook app_migrate (pre) failed, output:$' apply3.txt || fail "failed pre-hook not reported"
[ "$before" = "$(docker service inspect -f '{{.Spec.Name}} {{.Version.Index}}' app_web app_seed)" ] ||
	fail "a service of the stack was written after its pre-hook failed"
[ "$(docker service inspect -f '{{index .Spec.TaskTemplate.ContainerSpec.Env 0}}' app_web)" = GEN=1 ] || fail "web updated"

# pre-hook fixed, post-hook failing: web is updated, the apply fails
write_app 3 0 4
expect_rc 1 "$SHOAL" apply repo > apply4.txt 2>&1
cat apply4.txt
grep -q 'post-hook app_seed failed: task failed with exit code 4' apply4.txt || fail "post-hook failure not said"
[ "$(docker service inspect -f '{{index .Spec.TaskTemplate.ContainerSpec.Env 0}}' app_web)" = GEN=3 ] || fail "web not updated"

# hooks unchanged, web changed: both hooks run again (ForceUpdate)
write_app 4 0 0
"$SHOAL" apply repo > apply5.txt 2>&1 || { cat apply5.txt; fail "apply with hooks run again"; }
cat apply5.txt
grep -q '^Ran again service app_migrate (pre-hook)$' apply5.txt || fail "unchanged pre-hook not run again"
grep -q '^Updated service app_seed$' apply5.txt || fail "changed post-hook not updated"
grep -q '^Hook app_seed (post) succeeded' apply5.txt || fail "post-hook did not succeed"
write_app 5 0 0
"$SHOAL" apply repo > apply6.txt 2>&1 || { cat apply6.txt; fail "apply with both hooks run again"; }
cat apply6.txt
grep -q '^Ran again service app_seed (post-hook)$' apply6.txt || fail "unchanged post-hook not run again"
[ "$(grep -c '^Hook app_.* succeeded' apply6.txt)" = 2 ] || fail "both hooks should have run and succeeded"
# and a plan afterwards sees nothing to do (ForceUpdate is the engine's)
expect_rc 0 "$SHOAL" plan repo
true

# shoal stack deploy as a drop-in: a re-deploy of unchanged files writes
# nothing (docker rewrites every service), --prune removes services dropped
# from the file, stack rm removes everything and ls lists the stack.
. "$TOP/tests/lab/lib.sh"
cat > a.yml <<YML
version: "3.8"
services:
  one:
    image: $LAB_IMAGE
    secrets: [tok]
  two:
    image: $LAB_IMAGE
    deploy: {mode: replicated-job, replicas: 1}
secrets:
  tok:
    file: ./tok.txt
YML
printf 'x' > tok.txt
"$SHOAL" stack deploy --resolve-image never -c a.yml st > d1.txt || { cat d1.txt; fail "deploy"; }
"$SHOAL" stack ls | grep -q '^st  *2 ' || fail "stack ls"
before=$(all_versions)
"$SHOAL" stack deploy --resolve-image never -c a.yml st > d2.txt || fail "redeploy"
cat d2.txt
grep -q 'up to date' d2.txt || fail "redeploy did something"
[ "$before" = "$(all_versions)" ] || fail "versions changed on an unchanged redeploy (the job would re-run)"
# -c - reads the file from stdin (paths from the current directory): the
# same file that way is the same stack, nothing to do
"$SHOAL" stack deploy --resolve-image never -c - st < a.yml > d2s.txt || { cat d2s.txt; fail "deploy from stdin"; }
grep -q 'up to date' d2s.txt || { cat d2s.txt; fail "the file from stdin made changes"; }
sed -i '/^  two:/,/^    deploy/d' a.yml
"$SHOAL" stack deploy --resolve-image never -c a.yml st > d3.txt || fail "deploy without two"
docker service inspect st_two >/dev/null 2>&1 || fail "service removed without --prune"
"$SHOAL" stack deploy --prune --resolve-image never -c a.yml st > d4.txt || fail "prune"
docker service inspect st_two >/dev/null 2>&1 && fail "--prune kept st_two"
"$SHOAL" stack rm st > rm.txt || { cat rm.txt; fail "stack rm"; }
lab_wait_stack_gone st || fail "stack not removed"
[ -z "$(docker secret ls -q --filter label=com.docker.stack.namespace=st)" ] || fail "secret left by stack rm"
"$SHOAL" stack rm st 2>&1 | grep -q 'Nothing found in stack: st' || fail "rm of a missing stack"

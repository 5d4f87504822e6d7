# Changing one service's image updates that service only, and the plan shows
# the field with old and new values.
. "$TOP/tests/lab/lib.sh"
make_repo repo
"$SHOAL" apply repo >/dev/null || fail "apply"
before=$(svc_versions)
printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > repo/stacks/kittenapi/vars.env
expect_rc 2 "$SHOAL" plan repo > plan.txt
cat plan.txt
grep -q '~ service kittenapi_kittenapi' plan.txt || fail "no update planned"
grep -q 'TaskTemplate.ContainerSpec.Image: "shoal-lab/standin:1" → "shoal-lab/busybox:latest"' plan.txt || fail "image change not shown"
[ "$(grep -c '^  [+~-]' plan.txt)" = 1 ] || fail "more than one operation planned"
NO_COLOR=1 "$SHOAL" plan --format json repo > plan.json; [ $? = 2 ] || fail "json plan exit code"
python3 -c 'import json,sys; d=json.load(open("plan.json")); assert not d["in_sync"]; assert [o["name"] for o in d["operations"]]==["kittenapi_kittenapi"]' || fail "json plan"
"$SHOAL" apply repo > apply.txt || fail "apply change"
grep -q '(1 write request;' apply.txt || { cat apply.txt; fail "expected exactly one write"; }
after=$(svc_versions)
changed=$(diff <(echo "$before") <(echo "$after") | grep '^>' | awk '{print $2}')
[ "$changed" = kittenapi_kittenapi ] || fail "changed services: $changed"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = shoal-lab/busybox:latest ] || fail "image not updated"
expect_rc 0 "$SHOAL" plan repo
# colour on a terminal, none with NO_COLOR or when piped
printf 'KITTENAPI_IMAGE=%s\n' "$LAB_IMAGE" > repo/stacks/kittenapi/vars.env
script -qec "$SHOAL plan repo" /dev/null > tty.txt
grep -q $'\033\\[33m' tty.txt || fail "no colour on a tty"
script -qec "env NO_COLOR=1 $SHOAL plan repo" /dev/null > tty-nc.txt
grep -q $'\033' tty-nc.txt && fail "colour despite NO_COLOR"
"$SHOAL" plan repo > piped.txt
grep -q $'\033' piped.txt && fail "colour in a pipe"
true

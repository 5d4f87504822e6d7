# A change made by hand shows in plan and is reverted by apply.
. "$TOP/tests/lab/lib.sh"
make_repo repo
"$SHOAL" apply repo >/dev/null || fail "apply"
docker service update -d --env-add HAND=made kittenapi_kittenapi >/dev/null || fail "hand update"
"$SHOAL" plan repo > plan.txt; [ $? = 2 ] || fail "drift not detected"
cat plan.txt
grep -q 'HAND=made' plan.txt || fail "drift not shown"
"$SHOAL" apply repo >/dev/null || fail "apply"
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Env}}' kittenapi_kittenapi | grep -q HAND && fail "drift not reverted"
expect_rc 0 "$SHOAL" plan repo

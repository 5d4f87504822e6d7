# An invalid stack writes nothing and names file:line:column; the other
# stacks still apply.
. "$TOP/tests/lab/lib.sh"
make_repo repo
sed -i 's/^      replicas: 2/      replicas: 2\n      replica: 3/' repo/stacks/kittenapi/kittenapi.yml
"$SHOAL" apply repo > out.txt 2> err.txt; rc=$?
cat out.txt err.txt
[ $rc = 1 ] || fail "apply exit $rc, expected 1"
line=$(grep -n '^      replica: 3$' repo/stacks/kittenapi/kittenapi.yml | cut -d: -f1)
[ -n "$line" ] || fail "the bad key was not written"
grep -q "stacks/kittenapi/kittenapi.yml:$line:7: error: services.kittenapi.deploy additional property replica is not allowed" err.txt ||
	fail "error position (the key is on line $line)"
docker service inspect kittenapi_kittenapi >/dev/null 2>&1 && fail "invalid stack was applied"
docker service inspect traefik_traefik mongo_mongo01 >/dev/null || fail "valid stacks not applied"
expect_rc 1 "$SHOAL" validate repo

# Applying the same repo twice: the second apply writes nothing and plan
# says "in sync"; a service scaled by hand without replicas in the file
# keeps its count.
. "$TOP/tests/lab/lib.sh"
make_repo repo
expect_rc 2 "$SHOAL" plan repo > plan0.txt
grep -q '+ service kittenapi_kittenapi' plan0.txt || fail "plan does not show the creation"
"$SHOAL" apply repo > apply1.txt || { cat apply1.txt; fail "first apply"; }
cat apply1.txt
for s in traefik_traefik mongo_mongo01 mongo_mongo02 mongo_mongo03 kittenapi_kittenapi; do
	docker service inspect "$s" >/dev/null || fail "service $s missing"
done
docker network inspect frontend backend >/dev/null || fail "networks missing"
before=$(all_versions)
"$SHOAL" apply repo > apply2.txt || fail "second apply"
cat apply2.txt
grep -q '(0 write requests;' apply2.txt || fail "second apply made writes"
expect_rc 0 "$SHOAL" plan repo
[ "$before" = "$(all_versions)" ] || fail "object versions changed on a no-op apply"
# replicas omitted in the file: the live count stays
docker service scale -d mongo_mongo01=2 >/dev/null
expect_rc 0 "$SHOAL" plan repo
"$SHOAL" apply repo >/dev/null || fail "apply after scale"
[ "$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' mongo_mongo01)" = 2 ] || fail "replicas reset"
echo "no-op apply: 0 writes, versions unchanged"

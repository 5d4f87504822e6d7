# Deleting a stack folder removes that stack entirely; stacks deployed by
# other means are never touched.
. "$TOP/tests/lab/lib.sh"
make_repo repo
printf 'version: "3.8"\nservices:\n  s:\n    image: %s\n' "$LAB_IMAGE" > foreign.yml
docker stack deploy --resolve-image never -c foreign.yml foreign >/dev/null || fail "docker deploy"
"$SHOAL" apply repo >/dev/null || fail "apply"
rm -r repo/stacks/mongo
# kittenapi no longer waits for mongo (a dependency on a removed stack is
# refused: x-shoal.depends_on)
sed -i '/^x-shoal:/,/depends_on:/d' repo/stacks/kittenapi/kittenapi.yml
"$SHOAL" validate repo || fail "kittenapi without its dependency"
"$SHOAL" plan repo > plan.txt; [ $? = 2 ] || fail "plan exit"
cat plan.txt
"$SHOAL" apply repo > apply.txt 2>&1
cat apply.txt
for s in mongo_mongo01 mongo_mongo02 mongo_mongo03; do
	docker service inspect $s >/dev/null 2>&1 && fail "$s still there"
done
[ -z "$(docker secret ls -q --filter label=com.docker.stack.namespace=mongo)" ] || fail "mongo secrets left"
docker service inspect foreign_s >/dev/null || fail "foreign stack touched"
docker service inspect kittenapi_kittenapi traefik_traefik >/dev/null || fail "other stacks removed"
# backend belongs to the removed stack but kittenapi still uses it: kept
docker network inspect backend >/dev/null || fail "network still in use was removed"
grep -q 'remove network backend' plan.txt && fail "plan removes a network in use"
rm -r repo/stacks/kittenapi
"$SHOAL" apply repo > apply2.txt 2>&1 || { cat apply2.txt; fail "apply 2"; }
grep -qx 'Removed network backend' apply2.txt || { cat apply2.txt; fail "apply 2 did not remove backend"; }
# swarm removes a network asynchronously once its last task has detached, and
# a node's own copy can outlive the cluster's for a moment: gone means gone
# for three looks in a row
gone=0
for _ in $(seq 1 90); do
	if docker network ls --filter name=backend --format '{{.Name}}' | grep -qx backend; then gone=0; else gone=$((gone+1)); fi
	[ $gone = 3 ] && break
	sleep 0.5
done
[ $gone = 3 ] || { docker network inspect backend; fail "unused network of a removed stack left"; }
true

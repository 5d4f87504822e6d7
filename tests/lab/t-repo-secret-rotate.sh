# A sealed secret: the task sees the plaintext in /run/secrets; a new value
# is rotated (new object, services moved, old one removed); the value shows
# nowhere in plans or output.
. "$TOP/tests/lab/lib.sh"
make_repo repo
docker node update --label-add mongo01=true "$(docker node ls -q)" >/dev/null
"$SHOAL" apply repo > apply0.txt || { cat apply0.txt; fail "apply"; }
c=$(task_container mongo_mongo01) || fail "mongo01 task not running"
[ "$(docker exec "$c" cat /run/secrets/mongo-admin-password)" = s3cr3t ] || {
	docker service ps --no-trunc mongo_mongo01; docker exec "$c" ls -la /run /run/secrets
	docker inspect -f '{{.Name}} {{.State.Status}} {{json .HostConfig.Mounts}}' "$c"
	fail "task does not see the plaintext"; }
old=$(docker secret ls --filter label=io.shoal.object=mongo_mongo-admin-password --format '{{.Name}}')
[ -n "$old" ] || fail "secret not created"
printf 'an0ther-pa55' | seal_into repo mongo mongo-admin-password repo/stacks/mongo/mongo-admin-password.sealed
"$SHOAL" plan repo > plan.txt; [ $? = 2 ] || fail "plan exit"
cat plan.txt
"$SHOAL" apply repo > apply.txt || { cat apply.txt; fail "apply rotation"; }
cat apply.txt
new=$(docker secret ls --filter label=io.shoal.object=mongo_mongo-admin-password --format '{{.Name}}')
[ -n "$new" ] && [ "$new" != "$old" ] || fail "secret not rotated ($old -> $new)"
[ "$(echo "$new" | wc -l)" = 1 ] || fail "old secret left behind: $new"
[ ${#new} -le 64 ] || fail "name too long"
for s in mongo_mongo01 mongo_mongo02 mongo_mongo03; do
	docker service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}' $s | grep -q "$new" || fail "$s not moved to $new"
done
for _ in $(seq 1 60); do
	c=$(task_container mongo_mongo01)
	[ "$(docker exec "$c" cat /run/secrets/mongo-admin-password 2>/dev/null)" = an0ther-pa55 ] && break
	sleep 0.5
done
[ "$(docker exec "$c" cat /run/secrets/mongo-admin-password)" = an0ther-pa55 ] || fail "task does not see the new value"
expect_rc 0 "$SHOAL" plan repo
grep -rl 'an0ther-pa55\|s3cr3t' "$T"/*.txt && fail "a plaintext appears in the output"
true

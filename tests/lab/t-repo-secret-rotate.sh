# A secret whose content changes is rotated: new content-named secret, the
# services moved to it, the old one removed; then nothing more to do.
. "$TOP/tests/lab/lib.sh"
make_repo repo
"$SHOAL" apply repo >/dev/null || fail "apply"
old=$(docker secret ls --filter label=io.shoal.object=mongo_mongo-admin-password --format '{{.Name}}')
[ -n "$old" ] || fail "secret not created"
printf 'an0ther-pa55' > repo/stacks/mongo/mongo-admin-password
"$SHOAL" plan repo > plan.txt; [ $? = 2 ] || fail "plan exit"
cat plan.txt
grep -q 'an0ther-pa55' plan.txt && fail "plan shows the secret value"
"$SHOAL" apply repo > apply.txt || { cat apply.txt; fail "apply rotation"; }
cat apply.txt
new=$(docker secret ls --filter label=io.shoal.object=mongo_mongo-admin-password --format '{{.Name}}')
[ -n "$new" ] && [ "$new" != "$old" ] || fail "secret not rotated ($old -> $new)"
[ "$(echo "$new" | wc -l)" = 1 ] || fail "old secret left behind: $new"
[ ${#new} -le 64 ] || fail "name too long"
for s in mongo_mongo01 mongo_mongo02 mongo_mongo03; do
	docker service inspect -f '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}' $s | grep -q "$new" || fail "$s not moved to $new"
done
expect_rc 0 "$SHOAL" plan repo

# Sealed values in a repo: the environment value from ${sealed:...} reaches
# the service; plans show it redacted with a fingerprint; a missing key, a
# tampered file or a file moved to another stack fails that stack only,
# naming the file; nothing of the plaintexts appears in any output.
. "$TOP/tests/lab/lib.sh"
make_repo repo
key=$SHOAL_KEY_FILE
uri_old='mongodb://kittenapi:LCg1SMxoWDg7gkuQ@mongo01'
# without the key: stacks with sealed values fail, the others apply
env -u SHOAL_KEY_FILE "$SHOAL" apply repo > nokey.txt 2>&1 && fail "apply without key succeeded"
grep -q 'stacks/kittenapi/kittenapi.yml:.*mongodb-uri.sealed: is sealed: give the private key' nokey.txt || { cat nokey.txt; fail "no clear error without key"; }
docker service inspect traefik_traefik >/dev/null || fail "unsealed stack not applied"
docker service inspect kittenapi_kittenapi >/dev/null 2>&1 && fail "sealed stack applied without key"
"$SHOAL" apply repo > apply.txt 2>&1 || { cat apply.txt; fail "apply with key"; }
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Env}}' kittenapi_kittenapi | grep -q "$uri_old" || fail "env value not set"
# a new sealed URI: the plan shows a changed fingerprint, never a value
printf 'mongodb://kittenapi:N3wPassw0rd@mongo01:27017/kittenapi' | seal_into repo kittenapi mongodb-uri repo/stacks/kittenapi/mongodb-uri.sealed
"$SHOAL" plan repo > plan.txt; [ $? = 2 ] || fail "plan exit"
"$SHOAL" plan --format json repo > plan.json
cat plan.txt
grep -Eq 'MONGODB_URI=\(sealed [0-9a-f]{12}\)".*→.*MONGODB_URI=\(sealed [0-9a-f]{12}\)' plan.txt || fail "no redacted change in plan"
# tampered: one character of the data line changed
cp repo/stacks/kittenapi/mongodb-uri.sealed good.sealed
sed -i '$ s/data: \(.\)/data: X\1/' repo/stacks/kittenapi/mongodb-uri.sealed
"$SHOAL" apply repo > tamper.txt 2>&1 && fail "tampered file applied"
grep -q 'mongodb-uri.sealed: .*does not open\|mongodb-uri.sealed: malformed' tamper.txt || { cat tamper.txt; fail "tamper error"; }
# moved to another stack: the scope does not match
cp good.sealed repo/stacks/traefik/mongodb-uri.sealed
cp good.sealed repo/stacks/kittenapi/mongodb-uri.sealed
sed -i 's|^    networks:|    environment:\n      X: ${sealed:mongodb-uri.sealed}\n    networks:|' repo/stacks/traefik/traefik.yml
"$SHOAL" validate repo > moved.txt 2>&1 && fail "moved file validated"
grep -q 'sealed for "kittenapi/mongodb-uri", not for "traefik/mongodb-uri"' moved.txt || { cat moved.txt; fail "scope error"; }
# a sealed value outside environment values is refused
sed -i 's|^    image: \${TRAEFIK_IMAGE}|    image: ${sealed:mongodb-uri.sealed}|' repo/stacks/traefik/traefik.yml
"$SHOAL" validate --key "$key" repo > where.txt 2>&1
grep -q 'may only be used in environment values' where.txt || { cat where.txt; fail "sealed outside environment"; }
# key file readable by others is refused
chmod 644 "$key"
"$SHOAL" plan repo > perm.txt 2>&1 && fail "world-readable key accepted"
grep -q 'chmod 600' perm.txt || fail "no key permission error"
chmod 600 "$key"
grep -rl 'LCg1SMxoWDg7gkuQ\|N3wPassw0rd\|s3cr3t' "$T"/*.txt "$T"/*.json && fail "a plaintext appears in the output"
true

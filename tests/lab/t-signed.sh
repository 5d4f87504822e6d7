# Signed commits: real `git commit -S` with ssh-keygen ed25519 keys. shoal
# verify agrees with git verify-commit on a good, an unsigned, an unknown
# signer's and a tampered commit; apply --require-signed applies only the
# signed commit and leaves the last good state when the next is not signed.
. "$TOP/tests/lab/lib.sh"
need ssh-keygen
ssh-keygen -q -t ed25519 -N '' -C ci -f ci.key
ssh-keygen -q -t ed25519 -N '' -f stranger.key
echo "ci@example.invalid $(cut -d' ' -f1,2 ci.key.pub)" > allowed
make_repo r
cd r && git init -q && git config user.email ci@example.invalid && git config user.name ci &&
	git config gpg.format ssh && git config user.signingkey ../ci.key || fail "git setup"
git add -A && git commit -qS -m "signed v1" || fail "signed commit"
good=$(git rev-parse HEAD)
printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env
git add -A && git commit -q -m "unsigned v2" || fail "unsigned commit"
unsigned=$(git rev-parse HEAD)
git config user.signingkey ../stranger.key
git commit -q --allow-empty -S -m "stranger" || fail "stranger commit"
stranger=$(git rev-parse HEAD)
git cat-file commit "$good" | sed 's/^signed v1$/signed v1, altered/' > ../altered.txt
tampered=$(git hash-object -t commit -w ../altered.txt)
cd ..
verdict() { # rev -> "good"/"bad" for shoal and for git
	local s g
	"$SHOAL" verify "$1" --repo r --allowed-signers allowed > "v-$1.txt" 2>&1 && s=good || s=bad
	git -C r -c gpg.ssh.allowedSignersFile="$T/allowed" verify-commit "$1" >/dev/null 2>&1 && g=good || g=bad
	echo "$s $g"
}
[ "$(verdict "$good")" = "good good" ] || fail "good commit: $(verdict "$good")"
for c in "$unsigned" "$stranger" "$tampered"; do
	[ "$(verdict "$c")" = "bad bad" ] || fail "commit $c: $(verdict "$c")"
done
grep -q 'is not signed' "v-$unsigned.txt" || fail "unsigned message"
grep -q 'not an allowed signer' "v-$stranger.txt" || fail "stranger message"
grep -q 'altered after signing' "v-$tampered.txt" || fail "tampered message"
# apply from commits
"$SHOAL" apply r --rev "$good" --require-signed --allowed-signers allowed > a1.txt 2>&1 || { cat a1.txt; fail "signed apply"; }
grep -q 'signed by ci@example.invalid' a1.txt || fail "no signer reported"
before=$(all_versions)
"$SHOAL" apply r --rev "$unsigned" --require-signed --allowed-signers allowed > a2.txt 2>&1 && fail "unsigned commit applied"
grep -q "refusing $unsigned: commit .* is not signed" a2.txt || { cat a2.txt; fail "refusal message"; }
[ "$before" = "$(all_versions)" ] || fail "something changed after a refused commit"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = "$LAB_IMAGE" ] || fail "last good state not kept"
# without the requirement the same commit applies (the check is what stopped it)
"$SHOAL" apply r --rev "$unsigned" > a3.txt 2>&1 || fail "plain apply of v2"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = shoal-lab/busybox:latest ] || fail "v2 not applied"

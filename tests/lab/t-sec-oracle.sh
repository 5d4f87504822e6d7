# A pull request cannot test guesses of a sealed value through the offline
# plan (shoal plan --base/--head with the key, as a reviewer runs it): a
# label holding a guess is shown as written, right or wrong, never as
# "(sealed …)"; the sealed value itself is shown by its key's fingerprint.
# No engine is used.
. "$TOP/tests/lab/lib.sh"
"$SHOAL" keygen -o k.key > recipient.txt 2>/dev/null || fail "keygen"
chmod 600 k.key
git init -q r && cd r || fail "git init"
git config user.email ci@example.invalid; git config user.name ci
mkdir -p stacks/app
printf 'Summer2024-pw' | "$SHOAL" seal --recipient "$(cat ../recipient.txt)" --stack app --name dbpw > stacks/app/dbpw.sealed || fail "seal"
cat > stacks/app/app.yml <<'Y'
version: "3.8"
services:
  web:
    image: busybox:latest
    environment:
      DB_PASSWORD: ${sealed:dbpw.sealed}
Y
git add -A && git commit -qm base || fail "commit base"
cat >> stacks/app/app.yml <<'Y'
    labels:
      guess: "Winter2024-pw Summer2024-pw Spring2024-pw"
Y
printf 'Autumn2024-pw' | "$SHOAL" seal --recipient "$(cat ../recipient.txt)" --stack app --name dbpw > stacks/app/dbpw.sealed || fail "reseal"
git add -A && git commit -qm head || fail "commit head"
cd ..
for f in text json markdown; do
	"$SHOAL" plan --key k.key --base HEAD~1 --head HEAD --repo r --format $f > plan.$f 2> plan-$f.err
	[ $? = 2 ] || { cat plan-$f.err; fail "$f: exit is not 2 (changes)"; }
	grep -q 'Winter2024-pw Summer2024-pw Spring2024-pw' plan.$f || { cat plan.$f; fail "$f: the guess is not shown as written (an oracle)"; }
	grep -q 'sealed [0-9a-f]\{12\}' plan.$f || { cat plan.$f; fail "$f: the sealed value is not shown by its fingerprint"; }
	grep -q 'Autumn2024-pw' plan.$f plan-$f.err && fail "$f: the new sealed value appears"
done
echo "ok: a guess in a label is shown as written; the sealed value by its fingerprint"

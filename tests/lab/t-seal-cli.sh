# keygen, seal, unseal, reseal from the command line: key file mode, several
# recipients, reseal to a new set (the old key no longer opens, no plaintext
# file appears), refusals that print nothing of the value.
. "$TOP/tests/lab/lib.sh"
"$SHOAL" keygen -o a.key > a.pub 2>/dev/null || fail "keygen"
"$SHOAL" keygen -o b.key > b.pub 2>/dev/null || fail "keygen b"
"$SHOAL" keygen -o c.key > c.pub 2>/dev/null || fail "keygen c"
[ "$(stat -c %a a.key)" = 600 ] || fail "key mode $(stat -c %a a.key)"
grep -q '^shoal-x25519:' a.pub || fail "recipient line"
"$SHOAL" keygen -o a.key >/dev/null 2>&1 && fail "keygen overwrote a key"
v='p4ss w/ spaces & symbols $$'
printf '%s' "$v" | "$SHOAL" seal --recipient "$(cat a.pub)" --recipient @b.pub --stack st --name pw > pw.sealed || fail "seal"
grep -q 'p4ss' pw.sealed && fail "plaintext in sealed file"
[ "$("$SHOAL" unseal --key a.key --stack st --name pw --in pw.sealed)" = "$v" ] || fail "unseal a"
[ "$("$SHOAL" unseal --key b.key --stack st --name pw < pw.sealed)" = "$v" ] || fail "unseal b"
out=$("$SHOAL" unseal --key c.key --stack st --name pw --in pw.sealed 2>err.txt) && fail "c opened it"
[ -z "$out" ] || fail "printed something on failure"
grep -q 'not sealed to this key' err.txt || fail "wrong key message"
"$SHOAL" unseal --key a.key --stack other --name pw --in pw.sealed > out2.txt 2>&1 && fail "other scope opened"
grep -q 'p4ss' out2.txt && fail "value printed on scope failure"
# reseal: to c only
ls | grep -v "^before.txt$\|^after.txt$" > before.txt
"$SHOAL" reseal --key a.key --recipient @c.pub pw.sealed 2>/dev/null || fail "reseal"
ls | grep -v "^before.txt$\|^after.txt$" > after.txt
diff before.txt after.txt >/dev/null || fail "reseal left files behind"
[ "$("$SHOAL" unseal --key c.key --stack st --name pw --in pw.sealed)" = "$v" ] || fail "c cannot open after reseal"
"$SHOAL" unseal --key a.key --stack st --name pw --in pw.sealed >/dev/null 2>&1 && fail "a still opens after reseal"
chmod 640 a.key
"$SHOAL" unseal --key a.key --stack st --name pw --in pw.sealed > perm.txt 2>&1 && fail "group-readable key accepted"
grep -q 'chmod 600' perm.txt || fail "no permission message"
true

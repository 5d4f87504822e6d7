# shoal validate on a corpus of broken repositories: every problem at once,
# each with file:line:column, exactly as tests/fixtures/broken/*/expected.txt
# says; exit 1 when anything is wrong. No engine is used.
. "$TOP/tests/lab/lib.sh"
rc=0
cd "$TOP/tests/fixtures/broken" || fail "no corpus"
for c in */; do
	c=${c%/}
	env -u SHOAL_KEY_FILE "$SHOAL" validate "$c" > /dev/null 2> "$T/$c.got"; r=$?
	[ $r = 1 ] || { echo "$c: exit $r, expected 1"; rc=1; }
	if ! diff -u "$c/expected.txt" "$T/$c.got"; then echo "$c: messages differ"; rc=1; else echo "$c: $(grep -c ': error: ' "$c/expected.txt") errors as expected"; fi
done
# and a valid repository passes with warnings only
env -u SHOAL_KEY_FILE "$SHOAL" validate "$TOP/repo-template" > /dev/null || { echo "repo-template invalid"; rc=1; }
exit $rc

# Every command of shoal's dispatch tables (cli/main.c, the bootstrap's
# in bootstrap/bootstrap.c) answers --help and `shoal help` with its usage on
# stdout and exit 0, and has its section in the manual page, which man(1)
# renders without a warning; usage errors still exit 64 on stderr with
# nothing on stdout; make install puts the binaries and shoal(1) in place.
# (No engine is used.)
. "$TOP/tests/lab/lib.sh"
# the commands, read from the tables the program dispatches with
cmds=$(sed -n '/^static const struct cmd cmds\[\]/,/^};/s/^\t{"\([a-z-]*\)", cmd_.*/\1/p' "$TOP/cli/main.c")
stack=$(sed -n '/^static const struct cmd stack_cmds\[\]/,/^};/s/^\t{"\([a-z-]*\)", cmd_.*/stack \1/p' "$TOP/cli/main.c")
boot=$(sed -n '/^int cmd_bootstrap/,/^}/s/^\t\t{"\([a-z-]*\)", [a-z_]*, ".*/bootstrap \1/p' "$TOP/bootstrap/bootstrap.c")
[ "$(echo "$cmds" | wc -l)" -ge 15 ] && [ "$(echo "$stack" | wc -l)" = 3 ] && [ "$(echo "$boot" | wc -l)" = 4 ] ||
	fail "could not read the command tables: [$cmds] [$stack] [$boot]"
"$SHOAL" help --man > shoal.1 || fail "shoal help --man"
n=0
while read -r c; do
	[ -n "$c" ] || continue
	# shellcheck disable=SC2086
	"$SHOAL" $c --help > out 2> err; rc=$?
	[ $rc = 0 ] || fail "shoal $c --help: exit $rc ($(head -2 err))"
	[ -s err ] && fail "shoal $c --help: wrote to stderr: $(head -2 err)"
	head -1 out | grep -q "^usage: shoal $c\b" || fail "shoal $c --help: no usage line: $(head -1 out)"
	# shellcheck disable=SC2086
	"$SHOAL" help $c > out2 2>&1 || fail "shoal help $c: exit $?"
	cmp -s out out2 || fail "shoal help $c differs from shoal $c --help"
	grep -qxF ".SS \"$c\"" shoal.1 || fail "no section for '$c' in the manual page"
	n=$((n + 1))
done <<EOF
$cmds
$stack
$boot
EOF
echo "ok: $n commands answer --help and shoal help, each has its section in shoal(1)"
# options after the command, and -h right after it
"$SHOAL" plan /nonexistent --format json --help > out 2>&1 && head -1 out | grep -q "^usage: shoal plan" ||
	fail "shoal plan DIR --format json --help"
"$SHOAL" seal -h | head -1 | grep -q "^usage: shoal seal" || fail "shoal seal -h"
"$SHOAL" --help | grep -q "^  review " || fail "shoal --help does not list review"
# usage errors: 64, on stderr, nothing on stdout
for args in "" "nosuch" "plan --bogus" "stack" "stack nosuch" "help nosuch" "review --pr" "keygen -x"; do
	# shellcheck disable=SC2086
	"$SHOAL" $args > out 2> err; rc=$?
	[ $rc = 64 ] || fail "shoal $args: exit $rc, expected 64"
	[ -s out ] && fail "shoal $args: a usage error on stdout"
	grep -q "usage: shoal" err || fail "shoal $args: no usage on stderr"
done
echo "ok: usage errors exit 64 with the usage on stderr"
# the manual page renders
if command -v man >/dev/null; then
	MANWIDTH=80 man -l shoal.1 > man.txt 2> man.err || fail "man -l: $(cat man.err)"
	[ -s man.err ] && fail "man -l warns: $(head -3 man.err)"
	grep -q "^COMMANDS" man.txt && grep -q "shoal review" man.txt || fail "man -l: the page lacks its commands"
	groff -man -Tutf8 -ww -z shoal.1 2> groff.err
	[ -s groff.err ] && fail "groff warns: $(head -3 groff.err)"
	echo "ok: man -l renders shoal(1) ($(wc -l < man.txt) lines), groff -ww has no warning"
else
	fail "man missing (apt-get install man-db): shoal(1) could not be rendered"
fi
# make install: binaries and the page
make -C "$TOP" -s install DESTDIR="$T/inst" PREFIX=/usr/local > install.log 2>&1 || { cat install.log; fail "make install"; }
for f in usr/local/bin/shoal usr/local/bin/shoal-agentd usr/local/share/man/man1/shoal.1; do
	[ -s "inst/$f" ] || fail "make install: no $f"
done
cmp -s inst/usr/local/share/man/man1/shoal.1 shoal.1 || fail "the installed page is not shoal help --man's"
echo "ok: make install puts shoal, shoal-agentd and shoal(1) under DESTDIR/PREFIX"

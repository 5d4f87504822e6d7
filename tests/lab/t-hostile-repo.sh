# Malicious repositories, from a directory and from a Git commit: an alias
# bomb, a 100 MB file, deep nesting (flow and block), paths out of the
# repository (../, absolute, symbolic links to files, to directories and
# as a whole stack).  Each is refused with a clear error at its position,
# under a 256 MiB address-space limit and a hang guard; none crashes.  A
# stack replaced by a symbolic link is not taken as deleted: apply keeps
# the deployed stack instead of pruning it.
. "$TOP/tests/lab/lib.sh"
mk() { # name: a repository with one stack "app"
	rm -rf "$1" && mkdir -p "$1/stacks/app" && printf 'X=1\n' > "$1/vars.env"
}
svc='services:\n  app:\n    image: busybox\n'

mk bomb
python3 - <<'EOF'
lines = ['services:', '  app:', '    image: busybox', '    labels: *j']
lines.insert(0, 'x-a: &a {a0: lol, a1: lol, a2: lol, a3: lol, a4: lol, a5: lol, a6: lol, a7: lol, a8: lol, a9: lol}')
prev = 'a'
for n in 'bcdefghij':
    lines.insert(-4, 'x-%s: &%s [%s]' % (n, n, ', '.join(['*' + prev] * 10)))
    prev = n
open('bomb/stacks/app/app.yml', 'w').write('\n'.join(lines) + '\n')
EOF
mk flow
python3 -c "open('flow/stacks/app/app.yml','w').write('services:\n  app:\n    image: busybox\n    labels: ' + '[' * 100000 + ']' * 100000 + '\n')"
mk block
python3 -c "
s = 'services:\n  app:\n    image: busybox\n    x-deep:\n'
s += ''.join('  ' * (i + 3) + 'k:\n' for i in range(300))
open('block/stacks/app/app.yml', 'w').write(s)"
mk big
python3 -c "
f = open('big/stacks/app/app.yml', 'w'); f.write('services:\n  app:\n    image: busybox\n    labels:\n'); i = 0
while f.tell() < 100 << 20: f.write('      k%d: %s\n' % (i, 'v' * 90)); i += 1"
mk dotdot; printf "$svc    env_file: ../../../../etc/shadow\n" > dotdot/stacks/app/app.yml
mk absolute; printf "$svc    secrets: [s]\nsecrets:\n  s:\n    file: /etc/shadow\n" > absolute/stacks/app/app.yml
mk linkfile; ln -s /etc/shadow linkfile/stacks/app/app.env; printf "$svc    env_file: app.env\n" > linkfile/stacks/app/app.yml
mk linkdir; ln -s /etc linkdir/stacks/app/etc; printf "$svc    env_file: etc/shadow\n" > linkdir/stacks/app/app.yml
mk linkstack; rm -rf linkstack/stacks/app; ln -s /etc linkstack/stacks/app

# case  expected message (a regular expression, after "FILE:LINE:COL: error: ")
cases='bomb|app.yml:[0-9]+:[0-9]+: error: document expands to more than [0-9]+ nodes
flow|app.yml:4:[0-9]+: error: document nested deeper than 64 levels
block|app.yml:[0-9]+:[0-9]+: error: document nested deeper than 64 levels
big|app.yml: error: file too large \(the limit is 8 MiB\)
dotdot|app.yml:4:15: error: \.\./\.\./\.\./\.\./etc/shadow: path leaves the repository
absolute|app.yml:7:11: error: /etc/shadow: absolute paths are not allowed
linkfile|app.yml:4:15: error: app.env: (path leaves the repository \(symbolic link\)|is a symbolic link: refused)
linkdir|app.yml:4:15: error: etc/shadow: (path leaves the repository \(symbolic link\)|.*)
linkstack|stacks/app: error: a symbolic link: a stack must be a directory of the repository'
guarded() { prlimit --as=$((256 << 20)) timeout 20 "$@"; }
bad=0
while IFS='|' read -r c want; do
	# from the directory
	guarded env -u SHOAL_KEY_FILE "$SHOAL" validate "$c" > "$c.out" 2> "$c.err"; rc=$?
	[ $rc = 1 ] || { echo "$c: exit $rc, expected 1"; cat "$c.err"; bad=1; }
	grep -Eq "$want" "$c.err" || { echo "$c: no error like: $want"; cat "$c.err"; bad=1; }
	# from a commit of the same files
	( cd "$c" && git init -q && git add -A && git -c user.email=t@example.invalid -c user.name=t commit -qm "$c" ) || fail "commit $c"
	guarded env -u SHOAL_KEY_FILE "$SHOAL" validate --rev HEAD --repo "$c" > "$c.git.out" 2> "$c.git.err"; rc=$?
	[ $rc = 1 ] || { echo "$c (git): exit $rc, expected 1"; cat "$c.git.err"; bad=1; }
	grep -Eq "${want%%: error*}: error: " "$c.git.err" || { echo "$c (git): no error at ${want%%: error*}"; cat "$c.git.err"; bad=1; }
	echo "$c: refused ($(head -c 120 "$c.err" | head -1))"
done <<< "$cases"
[ $bad = 0 ] || fail "hostile repositories"

# a deployed stack replaced by a symbolic link is kept, not pruned
mk live; printf "services:\n  web:\n    image: $LAB_IMAGE\n" > live/stacks/app/app.yml
"$SHOAL" apply live > apply1.out 2>&1 || { cat apply1.out; fail "first apply"; }
docker service inspect app_web > /dev/null || fail "app_web not deployed"
mv live/stacks/app live/app-real && ln -s ../app-real live/stacks/app
expect_rc 1 "$SHOAL" apply live > apply2.out 2>&1
grep -q "stacks/app: error: a symbolic link" apply2.out || { cat apply2.out; fail "the link was not reported"; }
docker service inspect app_web > /dev/null 2>&1 || fail "app_web was pruned because its stack became a symbolic link"

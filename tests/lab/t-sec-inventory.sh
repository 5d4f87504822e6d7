# Hostile inventories (issue 15, item 3) against the real dnsmasq,
# shorewall and keepalived: each injection of the issue and more is
# refused by `bootstrap check`, `bootstrap gateway [--dry-run] --root` and
# `bootstrap keepalived --dry-run --root` with its file:line:column; the
# canary script the injections name never runs (shorewall ran ?SHELL lines
# as root, --dry-run included), no tool is handed the content and nothing
# is written.  Then the real tools check the template's files on this
# machine, where enp0s3 and enp0s8 do not exist, inside a throwaway
# network namespace whose links carry those names, gone afterwards.
# Item 12: a replaced file keeps its mode and owner; links planted at the
# temporary path are not followed; a target that is a link is refused
# before anything is written.
. "$TOP/tests/lab/lib.sh"
for tool in dnsmasq shorewall keepalived ip unshare python3; do
	command -v $tool >/dev/null || { echo "SKIP: $tool missing: hostile inventories NOT TESTED"; exit 77; }
done
INV=$TOP/repo-template/cluster.yml

# the canary: a marker when anything runs it
printf '#!/bin/sh\necho "ran as uid $(id -u): $*" >> %s/marker\n' "$T" > pwn.sh && chmod +x pwn.sh
printf '?SHELL %s/pwn.sh include\n' "$T" > evil.rules
# each real tool behind a wrapper that records its namespace, the links
# there and the files it was given, then runs the tool
mkdir -p bin
for tool in dnsmasq shorewall keepalived; do
	real=$(command -v $tool)
	cat > "bin/$tool" <<EOF
#!/bin/sh
links=\$(ip -o link show | awk -F': ' '{print \$2}' | cut -d@ -f1 | tr '\n' ' ')
echo "$tool \$(readlink /proc/self/ns/net) \$links" >> "$T/tools.log"
exec "$real" "\$@"
EOF
	chmod +x "bin/$tool"
done
export PATH="$T/bin:$PATH"
: > tools.log

# The machine has no enp0s3/enp0s8 (else a namespace without them stands in).
here=()
[ -e /sys/class/net/enp0s3 ] || [ -e /sys/class/net/enp0s8 ] && here=(unshare --net --)
in_here() { "${here[@]}" "$@"; }
into() { local out=$1; shift; "$@" > "$out" 2>&1; } # expect_rc's own message stays on stdout
in_here sh -c '! ip link show enp0s3 >/dev/null 2>&1 && ! ip link show enp0s8 >/dev/null 2>&1' ||
	fail "enp0s3 or enp0s8 exists where shoal runs"

# mutate NAME FROM TO: the template with FROM (first occurrence) as TO
mutate() {
	python3 - "$INV" "$T/$1.yml" "$2" "$3" <<'EOF' || fail "mutate $1"
import sys
src, dst, a, b = sys.argv[1:]
s = open(src).read()
assert a in s, a
open(dst, "w").write(s.replace(a, b, 1))
EOF
}
P=$T/pwn.sh NL=$'\n'
# name ~ from ~ to (YAML source: \n in a quoted scalar is YAML's escape) ~
# the text it would put into a rendered file
cases=(
	"node-name~  docker06:~  \"docker06\\ndhcp-script=$P\":~dhcp-script="
	"node-name-cr~  docker06:~  \"docker06\\rdhcp-script=$P\":~dhcp-script="
	"vip-interface~  interface: enp0s3~  interface: \"enp0s3\\n    notify_master \\\"$P\\\"\"~notify_master"
	"hostname~hostname: gateway~hostname: \"gateway\\n6.6.6.6\\tupdates.example.com\"~updates.example.com"
	"external-interface~external_interface: enp0s3~external_interface: \"enp0s3\\n?SHELL $P ext; true #\"~?SHELL"
	"internal-interface~internal_interface: enp0s8~internal_interface: \"enp0s8\\n?SHELL $P int; true #\"~?SHELL"
	"rules-shell~- ACCEPT net fw tcp 22~- \"?SHELL all:;$P\${IFS}rules;true\${IFS}|| fw\"~?SHELL"
	"rules-perl~- ACCEPT net fw tcp 22~- \"?PERL system('$P perl')\"~?PERL"
	"rules-begin~- ACCEPT net fw tcp 22~- \"?BEGIN PERL\"$NL    - \"system('$P begin');\"$NL    - \"?END PERL\"~?BEGIN"
	"rules-include~- ACCEPT net fw tcp 22~- \"INCLUDE $T/evil.rules\"~INCLUDE"
	"rules-newline~- ACCEPT net fw tcp 22~- \"ACCEPT net fw tcp 22\\n?SHELL $P nl\"~?SHELL"
	"policy-shell~- net all DROP info~- \"?SHELL $P policy\"~?SHELL"
	"policy-subst~- net all DROP info~- \"net all DROP \$(touch $T/marker)\"~\$(touch"
	"lease~lease: 1h~lease: \"1h\\ndhcp-script=$P\"~dhcp-script="
	"range~range: 10.0.0.200-10.0.0.250~range: \"10.0.0.200-10.0.0.250\\ndhcp-script=$P\"~dhcp-script="
	"option~external_interface: enp0s3~external_interface: \"--help\"~--help"
)
R=$T/root
mkdir -p "$R/etc/shorewall"
printf 'LOCKFILE=%s/sw.lock\n' "$T" > "$R/etc/shorewall/shorewall.conf"
printf '127.0.0.1\tlocalhost\n' > "$R/etc/hosts"
for c in "${cases[@]}"; do
	name=${c%%~*} rest=${c#*~}
	from=${rest%%~*} rest=${rest#*~}
	to=${rest%~*} injected=${rest##*~}
	mutate "$name" "$from" "$to"
	f=$T/$name.yml
	# the line of the hostile value: the first line that differs
	line=$(cmp "$INV" "$f" | sed -n 's/.* line \([0-9]*\)$/\1/p')
	[ -n "$line" ] || fail "$name: no difference"
	expect_rc 1 into "$name.check" in_here "$SHOAL" bootstrap check -f "$f"
	grep -q "^$f:$line:[0-9]*: error: " "$name.check" || { cat "$name.check"; fail "$name: no error at $f:$line:COL"; }
	expect_rc 1 into "$name.gw-dry" in_here "$SHOAL" bootstrap gateway -f "$f" --dry-run --root "$R"
	grep -q "^$f:$line:" "$name.gw-dry" || { cat "$name.gw-dry"; fail "$name: gateway --dry-run"; }
	expect_rc 1 into "$name.ka-dry" in_here "$SHOAL" bootstrap keepalived -f "$f" --node docker02 --dry-run --root "$R"
	grep -q "^$f:$line:" "$name.ka-dry" || { cat "$name.ka-dry"; fail "$name: keepalived --dry-run"; }
	expect_rc 1 into "$name.gw" in_here "$SHOAL" bootstrap gateway -f "$f" --root "$R"
	expect_rc 1 into "$name.ka" in_here "$SHOAL" bootstrap keepalived -f "$f" --node docker02 --root "$R"
	[ -e marker ] && { cat marker; fail "$name: the canary ran"; }
	[ -s tools.log ] && { cat tools.log; fail "$name: a tool was handed the hostile inventory"; }
	grep -rqF -- "$injected" "$R" && fail "$name: injected text under the root"
	# a message is one line: every line of the output is a position or a note
	grep -v "^$f:[0-9]*:[0-9]*: " "$name.check" | grep -q . && { cat "$name.check"; fail "$name: a message spans lines"; }
done
[ "$(find "$R" -type f | wc -l)" = 2 ] || { find "$R"; fail "files written for hostile inventories"; }
echo "${#cases[@]} hostile inventories refused, no tool run, nothing written"

# --- the template, checked by the real tools where its interfaces do not exist
links_here() { in_here ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | tr '\n' ' '; }
before=$(links_here)
in_here "$SHOAL" bootstrap keepalived -f "$INV" --node docker02 --root "$T/ka" > ka.out 2>&1 ||
	{ cat ka.out; fail "bootstrap keepalived where enp0s3 does not exist"; }
grep -q "keepalived: 1 file written" ka.out || { cat ka.out; fail "keepalived.conf not written"; }
grep -q "^    interface enp0s3$" "$T/ka/etc/keepalived/keepalived.conf" || fail "keepalived.conf"
in_here "$SHOAL" bootstrap gateway -f "$INV" --root "$R" > gw.out 2>&1 || { cat gw.out; fail "bootstrap gateway where enp0s8 does not exist"; }
grep -q "gateway: 9 files written" gw.out || { cat gw.out; fail "gateway files"; }
# each real tool ran, in a namespace of its own holding the inventory's links
self=$(in_here readlink /proc/self/ns/net)
for tool in keepalived dnsmasq shorewall; do
	grep -q "^$tool " tools.log || { cat tools.log; fail "$tool did not check the files"; }
done
while read -r tool ns links; do
	[ "$ns" != "$self" ] || fail "$tool ran in shoal's own namespace"
	case $tool in keepalived) want="enp0s3 shoal-p0" ;; *) want="enp0s3 enp0s8 shoal-p0" ;; esac
	for l in $want; do case " $links " in *" $l "*) ;; *) fail "$tool's namespace has no $l ($links)" ;; esac; done
	# gone: no process and no mount holds it any more.  The kernel reuses
	# a freed namespace's inode number (other labs make namespaces all
	# the time): a namespace found with that number must not be ours,
	# which had shoal's peer link shoal-p0.
	for h in /proc/[0-9]*/ns/net $(awk '$4 ~ /^net:\[/ {print $5}' /proc/self/mountinfo); do
		[ "$(readlink "$h" 2>/dev/null || awk -v m="$h" '$5 == m {print $4}' /proc/self/mountinfo)" = "$ns" ] || continue
		nsenter --net="$h" ip link show shoal-p0 >/dev/null 2>&1 && fail "$tool's namespace $ns is still there ($h)"
	done
done < tools.log
[ "$(links_here)" = "$before" ] || fail "links changed where shoal runs: $before -> $(links_here)"
echo "the real tools checked the template in a throwaway namespace: $(cut -d' ' -f1,3- tools.log | tr '\n' ';')"

# --- item 12: owner and mode kept, links not followed, a linked target refused
R2=$T/root2
mkdir -p "$R2/etc/dnsmasq.d"
printf '127.0.0.1\tlocalhost\n' > "$R2/etc/hosts"
chown 1234:5678 "$R2/etc/hosts" && chmod 0640 "$R2/etc/hosts"
printf 'precious\n' > victim
ln -s "$T/victim" "$R2/etc/hosts.shoal-tmp"
ln -s "$T/victim" "$R2/etc/dnsmasq.d/shoal.conf.shoal-tmp"
in_here "$SHOAL" bootstrap gateway -f "$INV" --root "$R2" > gw2.out 2>&1 || { cat gw2.out; fail "gateway with planted links"; }
[ "$(stat -c '%a %u:%g' "$R2/etc/hosts")" = "640 1234:5678" ] ||
	fail "/etc/hosts is $(stat -c '%a %u:%g' "$R2/etc/hosts") after its replacement, not 640 1234:5678"
grep -q "^10.0.0.1	gateway$" "$R2/etc/hosts" && grep -q '^127.0.0.1' "$R2/etc/hosts" || fail "hosts not replaced"
[ "$(cat victim)" = precious ] || fail "a link planted at the temporary path was followed"
[ -L "$R2/etc/hosts.shoal-tmp" ] && [ -L "$R2/etc/dnsmasq.d/shoal.conf.shoal-tmp" ] || fail "planted links removed"
[ -z "$(find "$R2" -name '.*shoal-*')" ] || fail "temporary files left: $(find "$R2" -name '.*shoal-*')"
R3=$T/root3
mkdir -p "$R3/etc"
ln -s "$T/victim" "$R3/etc/hosts"
expect_rc 1 into gw3.out in_here "$SHOAL" bootstrap gateway -f "$INV" --root "$R3"
grep -q "$R3/etc/hosts: a symbolic link: not replaced" gw3.out || { cat gw3.out; fail "a linked /etc/hosts not refused"; }
[ "$(cat victim)" = precious ] || fail "a linked target was followed"
[ "$(find "$R3" -type f | wc -l)" = 0 ] || { find "$R3"; fail "files written although a target was refused"; }
echo "owner and mode kept, planted links left alone, a linked target refused before any write"

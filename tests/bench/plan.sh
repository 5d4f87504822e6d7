# Offline plan (shoal plan --base --head, no engine) of a generated
# repository: 100 stacks / 1,000 services, then 1,000 stacks / 10,000; one
# service of one stack changes between the two commits.
echo
echo "## Offline plan of a generated repository"
echo
gen_repo() { # dir stacks services-per-stack
	python3 - "$@" <<'PY'
import os, sys
d, stacks, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for s in range(stacks):
    sd = os.path.join(d, "stacks", "st%04d" % s)
    os.makedirs(sd, exist_ok=True)
    with open(os.path.join(sd, "compose.yml"), "w") as f:
        f.write('version: "3.8"\nservices:\n')
        for i in range(per):
            f.write("  svc%02d:\n    image: registry.example.com/team/app%02d:${TAG}\n"
                    "    environment:\n      INDEX: \"%d\"\n      STACK: st%04d\n"
                    "    networks: [net]\n    deploy:\n      replicas: 2\n"
                    "      update_config: {parallelism: 1, delay: 10s}\n"
                    "      placement: {constraints: [node.labels.usage == apps]}\n" % (i, i, i, s))
        f.write("networks:\n  net: {}\n")
with open(os.path.join(d, "vars.env"), "w") as f:
    f.write("TAG=1.0\n")
PY
}
echo "| repository | plan --base --head (median of 5) | goal |"
echo "|---|---|---|"
for spec in "100 10" "1000 10"; do
	set -- $spec
	r="$T/plan-$1"
	rm -rf "$r"; mkdir -p "$r"
	gen_repo "$r" "$1" "$2"
	( cd "$r" && git init -q -b main && git add -A && git -c user.email=b@e.invalid -c user.name=b commit -qm a &&
	  sed -i 's/INDEX: "3"/INDEX: "33"/' stacks/st0007/compose.yml &&
	  git -c user.email=b@e.invalid -c user.name=b commit -qam b ) || fail "plan repo"
	: > "plan-times-$1"
	for _ in 1 2 3 4 5; do
		t0=$EPOCHREALTIME
		"$SHOAL" plan --repo "$r" --base HEAD~1 --head HEAD > "plan-$1.txt" 2>&1
		rc=$? t1=$EPOCHREALTIME
		echo "$t1 - $t0" | bc >> "plan-times-$1"
	done
	[ $rc = 2 ] || { cat "plan-$1.txt" | head; fail "plan exit $rc (want 2: changes)"; }
	grep -q 'INDEX' "plan-$1.txt" || fail "plan does not show the change"
	med=$(sort -n "plan-times-$1" | awk '{a[NR]=$1} END {print a[3]}')
	goal=""; [ "$1" = 100 ] && goal=$(awk -v m="$med" 'BEGIN {print (m <= 0.1) ? "≤ 100 ms: met" : "≤ 100 ms: NOT met"}')
	printf '| %s stacks / %s services (base read in full, head: changed stacks only) | %.0f ms | %s |\n' "$1" $(( $1 * $2 )) "$(echo "$med * 1000" | bc)" "$goal"
done

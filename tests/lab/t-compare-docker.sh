# shoal stack deploy stores the same service specs as docker stack deploy
# (docker CLI 28 against the lab engine), field by field.
DOCKER28=${DOCKER28:-/usr/local/bin/docker}
if ! "$DOCKER28" version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^2[5-9]\.'; then
	echo "SKIP: docker CLI >= 25 not found at $DOCKER28: comparison with docker stack deploy NOT RUN" >&2
	exit 77
fi
fx=$TOP/tests/fixtures/compare
capture() { # stack -> normalised json on stdout
	local ids; ids=$(docker service ls -q --filter label=com.docker.stack.namespace="$1")
	{
		printf '{"services":'; docker service inspect $ids
		printf ',"networks":'; docker network inspect $(docker network ls -q)
		printf '}'
	} | python3 "$TOP/tests/lab/specnorm.py" "$1"
}
rc=0
run_case() { # name, files...
	local name=$1; shift
	local args=() f
	for f in "$@"; do args+=(-c "$fx/$f"); done
	( cd "$fx" && LAB_TEST_VAR=from-env "$DOCKER28" stack deploy --resolve-image never "${args[@]}" "d$name" ) >"$T/docker.out" 2>&1 ||
		{ echo "docker stack deploy failed:"; cat "$T/docker.out"; rc=1; return; }
	capture "d$name" > "$T/docker-$name.json"
	"$DOCKER28" stack rm "d$name" >/dev/null
	( cd "$fx" && LAB_TEST_VAR=from-env "$SHOAL" stack deploy --resolve-image never "${args[@]}" "s$name" ) >"$T/shoal.out" 2>&1 ||
		{ echo "shoal stack deploy failed:"; cat "$T/shoal.out"; rc=1; return; }
	capture "s$name" > "$T/shoal-$name.json"
	"$SHOAL" stack rm "s$name" >/dev/null
	# the warnings docker prints for keys it ignores, word for word
	grep -A4 '^Ignoring' "$T/docker.out" | grep -v '^Since\|^In a future\|^Creating' > "$T/docker-warn.txt"
	grep -A4 '^Ignoring' "$T/shoal.out" | grep -v '^Since\|^In a future\|^Creating\|^Created' > "$T/shoal-warn.txt"
	[ "$name" != full ] || grep -q 'Ignoring unsupported options: privileged, restart' "$T/docker-warn.txt" ||
		{ echo "case full: docker's warnings not captured"; rc=1; }
	if ! diff -u "$T/docker-warn.txt" "$T/shoal-warn.txt"; then
		echo "case $name: warnings differ"; rc=1
	fi
	if python3 "$TOP/tests/lab/jsondiff.py" "$T/docker-$name.json" "$T/shoal-$name.json"; then
		echo "case $name: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/shoal-$name.json") services identical"
	else
		echo "case $name: specs differ"; rc=1
	fi
}
run_case full full.yml
run_case seeds seeds.yml
run_case override override-base.yml override-extra.yml
run_case scalars scalars.yml
# files docker refuses are refused by shoal too, before any write
for f in "$TOP"/tests/fixtures/reject/*.yml; do
	b=$(basename "$f" .yml)
	( cd "$(dirname "$f")" && "$DOCKER28" stack deploy --resolve-image never -c "$f" rj ) > "$T/rj-docker.txt" 2>&1 &&
		{ echo "reject/$b: docker accepted it (fixture is wrong)"; rc=1; }
	( cd "$(dirname "$f")" && "$SHOAL" stack deploy --resolve-image never -c "$f" rj ) > "$T/rj-shoal.txt" 2>&1 &&
		{ echo "reject/$b: shoal accepted what docker refuses: $(head -1 "$T/rj-docker.txt")"; rc=1; }
	grep -q "$(basename "$f"):[0-9]*:[0-9]*: error\|^error" "$T/rj-shoal.txt" || { echo "reject/$b: no positioned error"; cat "$T/rj-shoal.txt"; rc=1; }
	[ -z "$(docker service ls -q --filter label=com.docker.stack.namespace=rj)" ] || { echo "reject/$b: something was written"; rc=1; }
	"$DOCKER28" stack rm rj >/dev/null 2>&1  # docker may have half applied
	echo "reject/$b: docker: $(grep -v '^Since\|^In a future\|^Creating\|^$' "$T/rj-docker.txt" | head -1) | shoal: $(grep error "$T/rj-shoal.txt" | head -1 | sed 's|.*/||')"
done
exit $rc

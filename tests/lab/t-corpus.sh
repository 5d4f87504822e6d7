# Real-world conformance: every stack file of the compose corpus
# (../shared/compose-corpus, public Swarm stack files; its README says how
# to deploy them) deployed with docker CLI 28 (stack deploy --resolve-image
# never) and with shoal stack deploy on the lab engine.  Required:
#  - the stored service specs equal, field by field (tests/lab/specnorm.py,
#    jsondiff.py), and the stack's networks, secrets and configs (names,
#    labels, drivers, options, data);
#  - where docker refuses a file, shoal refuses it too, naming the same
#    key (the quoted words and the plugin of docker's error), and writes
#    nothing before refusing.
# The node is drained for the run: no task starts (no image can be pulled
# here), the stored specs are what counts, and removals do not wait for
# tasks.  Each file is deployed as stack cNN by docker, removed, then by
# shoal (the same name: the order of a service's networks follows their
# names), and removed before the next file (files share published ports
# and object names).
#
# 01 (docker/cli's golden rendering of its loader fixture) cannot deploy:
# docker creates two of its networks, then the engine refuses the third
# (IPAM driver "overlay" is no plugin); shoal refuses it before any write,
# naming that driver (and the rest the engine would refuse later: a
# constraint without ==, duplicate mount targets, files at /foo).  Its
# specs are compared on a derived copy made here in $T (never in the
# repository) without those parts: see derive_01 below.
. "$TOP/tests/lab/lib.sh"
compare_cli || exit 77
# the corpus sits in ../shared next to the project (or in a folder above a
# clone made elsewhere); CORPUS= names another
if [ -z "${CORPUS:-}" ]; then
	d=$TOP
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		[ -f "$d/shared/compose-corpus/README.md" ] && { CORPUS=$d/shared/compose-corpus; break; }
	done
fi
if [ ! -f "${CORPUS:-}/README.md" ]; then
	echo "no compose corpus in a shared/compose-corpus above $TOP (set CORPUS=): corpus comparison NOT RUN" >&2
	exit 77
fi
CORPUS=$(cd "$CORPUS" && pwd)
node=$(docker node ls -q)
docker node update --availability drain "$node" >/dev/null || { echo "cannot drain the node"; exit 1; }
trap 'docker node update --availability active "$node" >/dev/null 2>&1' EXIT
mkdir -p "$T/home"

# Python without a slow wrapper in front (pyenv's shims take a second a
# start on a loaded machine; this runs a few hundred)
PY=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import yaml' 2>/dev/null && PY=/usr/bin/python3
SOCK=${DOCKER_HOST#unix://}
capture() { "$PY" "$TOP/tests/lab/stackctl.py" "$SOCK" capture "$1"; } # normalised (specnorm.py)
remove() { "$PY" "$TOP/tests/lab/stackctl.py" "$SOCK" rm "$1"; }	 # as docker stack rm, waited for
# what a stack has in the swarm
left() {
	{
		docker service ls -q --filter label=com.docker.stack.namespace="$1"
		docker network ls -q --filter label=com.docker.stack.namespace="$1"
		docker secret ls -q --filter label=com.docker.stack.namespace="$1"
		docker config ls -q --filter label=com.docker.stack.namespace="$1"
	} 2>/dev/null
}
externals() { # create|rm FILE.external
	[ -f "$2" ] || return 0
	local kind name
	while read -r kind name; do
		[ -n "$kind" ] || continue
		if [ "$1" = rm ]; then docker "$kind" rm "$name" >/dev/null 2>&1; continue; fi
		case $kind in
		network) docker network create -d overlay --attachable "$name" >/dev/null ;;
		*) printf 'corpus stand-in\n' | docker "$kind" create "$name" - >/dev/null ;;
		esac || echo "cannot create external $kind $name"
	done < "$2"
}
# deploy TOOL STACK FILE ENVFILE: in the corpus folder, with the file's
# variables and nothing else of this environment
deploy() {
	local envs=() l
	if [ -f "$4" ]; then while IFS= read -r l; do [ -n "$l" ] && envs+=("$l"); done < "$4"; fi
	( cd "$(dirname "$3")" && env -i PATH="$PATH" HOME="$T/home" DOCKER_HOST="$DOCKER_HOST" "${envs[@]}" \
		"$1" stack deploy --resolve-image never -c "$3" "$2" )
}

# 01 without what no engine here can run: its absolute files (/foo ...)
# become files in $T, env_file paths absolute into the corpus; the IPAM
# driver, the cluster volume mount, the mount of an undefined volume, the
# attachment to an undefined network, the invalid constraint, the
# duplicate mount targets, endpoint_mode dnsrr (the file publishes
# ingress ports) and the reservation below the engine's CPU minimum are
# taken out.
derive_01() {
	printf 'derived secret\n' > "$T/01-secret"
	printf 'derived config\n' > "$T/01-config"
	"$PY" - "$CORPUS/$1" "$2" "$CORPUS" "$T" <<'PY'
import sys, yaml
src, dst, corpus, tmp = sys.argv[1:]
d = yaml.safe_load(open(src))
foo = d["services"]["foo"]
foo["env_file"] = ["%s/%s" % (corpus, f[2:]) for f in foo["env_file"]]
foo["deploy"]["placement"]["constraints"] = [c for c in foo["deploy"]["placement"]["constraints"] if "==" in c or "!=" in c]
del foo["deploy"]["endpoint_mode"]
foo["deploy"]["resources"]["reservations"]["cpus"] = "0.001"
del foo["networks"]["other-other-network"]
seen, vols = set(), []
for v in foo["volumes"]:
    if v["type"] != "cluster" and v.get("source") != "datavolume" and v["target"] not in seen:
        seen.add(v["target"]); vols.append(v)
foo["volumes"] = vols
del d["networks"]["other-network"]["ipam"]["driver"]
for kind, f in (("secrets", "01-secret"), ("configs", "01-config")):
    for o in d[kind].values():
        if "file" in o:
            o["file"] = "%s/%s" % (tmp, f)
yaml.safe_dump(d, open(dst, "w"), sort_keys=False)
PY
}

rc=0 files=0 same=0 refused=0 fields=0 equal=0
# compare NAME: docker's and shoal's capture; adds to the totals
compare() {
	local out; out=$("$PY" "$TOP/tests/lab/jsondiff.py" "$T/d-$1.json" "$T/s-$1.json" --count)
	local st=$?
	local counts; counts=$(printf '%s\n' "$out" | tail -1)
	local f e; f=$(echo "$counts" | awk '{print $2}'); e=$(echo "$counts" | awk '{print $4}')
	fields=$((fields + f)); equal=$((equal + e))
	local n; n=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join("%d %s" % (len(d[k]), k) for k in ("services","networks","secrets","configs")))' "$T/d-$1.json")
	if [ $st = 0 ]; then
		same=$((same + 1)); echo "$1: equal ($n; $e/$f fields)"
	else
		rc=1; echo "$1: DIFFERENT ($n; $e/$f fields equal):"; printf '%s\n' "$out" | sed '$d' | sed 's/^/    /' | head -40
	fi
}
# both refuse: shoal writes nothing and names what docker names
both_refuse() { # name, docker output, shoal output, shoal stack
	local keys k missing=
	keys=$(grep -v '^Since\|^In a future\|^Creating\|^Ignoring\|^$\|: Setting\|: Exposing' "$2" |
		grep -o '"[^"]*"\|plugin [^ ]*\|property [^ ]*' | sed 's/^"//; s/"$//; s/^plugin //; s/^property //' |
		sed "s/^c[0-9][0-9]_//" | sort -u)
	for k in $keys; do grep -qF -- "$k" "$3" || missing="$missing $k"; done
	if [ -n "$(left "$4")" ]; then echo "$1: shoal wrote before refusing"; rc=1; fi
	if [ -n "$missing" ]; then
		rc=1; echo "$1: shoal's refusal does not name:$missing"; sed 's/^/    docker: /' "$2" | head -5; sed 's/^/    shoal: /' "$3" | head -10
	else
		refused=$((refused + 1)); echo "$1: refused by both, naming$(printf ' %s' $keys)"
	fi
}

start=$(date +%s)
for f in "$CORPUS"/[0-9][0-9]-*.yml; do
	b=$(basename "$f" .yml); n=${b%%-*}
	files=$((files + 1))
	externals create "$CORPUS/$b.external"
	deploy "$DOCKER28" "c$n" "$f" "$CORPUS/$b.env" > "$T/d-$b.out" 2>&1; drc=$?
	capture "c$n" > "$T/d-$b.json"
	remove "c$n" || rc=1
	deploy "$SHOAL" "c$n" "$f" "$CORPUS/$b.env" > "$T/s-$b.out" 2>&1; src=$?
	if [ $drc != 0 ] && [ $src != 0 ]; then
		both_refuse "$b" "$T/d-$b.out" "$T/s-$b.out" "c$n"
	elif [ $drc != 0 ] || [ $src != 0 ]; then
		rc=1
		echo "$b: docker exit $drc, shoal exit $src:"
		[ $drc = 0 ] || sed 's/^/    docker: /' "$T/d-$b.out" | tail -3
		[ $src = 0 ] || sed 's/^/    shoal: /' "$T/s-$b.out" | grep -v warning | tail -10
		capture "c$n" > "$T/s-$b.json"
		compare "$b" > /dev/null
	else
		capture "c$n" > "$T/s-$b.json"
		compare "$b"
	fi
	remove "c$n" || rc=1
	if [ "$n" = 01 ]; then
		derive_01 "$b.yml" "$T/01-derived.yml"
		deploy "$DOCKER28" c01 "$T/01-derived.yml" "" > "$T/d-01-derived.out" 2>&1 ||
			{ rc=1; echo "01-derived: docker refused it:"; tail -3 "$T/d-01-derived.out"; }
		capture c01 > "$T/d-01-derived.json"
		remove c01 || rc=1
		deploy "$SHOAL" c01 "$T/01-derived.yml" "" > "$T/s-01-derived.out" 2>&1 ||
			{ rc=1; echo "01-derived: shoal refused it:"; grep -v warning "$T/s-01-derived.out" | tail -5; }
		capture c01 > "$T/s-01-derived.json"
		remove c01 || rc=1
		compare 01-derived
	fi
	externals rm "$CORPUS/$b.external"
done
pct=$(awk -v e="$equal" -v f="$fields" 'BEGIN { printf "%.1f", f ? 100 * e / f : 0 }')
echo "corpus: $files files: $same deployed equal (01 as a derived copy), $refused refused by both; fields compared $fields, equal $equal ($pct%); $(( $(date +%s) - start ))s"
exit $rc

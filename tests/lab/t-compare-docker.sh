# shoal stack deploy stores the same service specs, networks, secrets and
# configs as docker stack deploy (docker CLI 28, or Debian 13's CLI 26 where
# 28 is absent: compare_cli), field by field, for the fixtures of
# tests/fixtures/compare (the real stack files of the corpus: t-corpus.sh).
. "$TOP/tests/lab/lib.sh"
compare_cli || exit 77
cli_version=$("$DOCKER28" --version | sed 's/^Docker version \([^,]*\).*/\1/')
echo "docker CLI $cli_version ($DOCKER28)"
fx=$TOP/tests/fixtures/compare
# no task starts (the stored specs are what counts): nothing holds a
# removed stack's network, the next deploy does not wait for it
node=$(docker node ls -q)
docker node update --availability drain "$node" > /dev/null || { echo "cannot drain the node"; exit 1; }
trap 'docker node update --availability active "$node" > /dev/null 2>&1' EXIT
# the versions of one stack's objects and of the names given (name:)
stack_versions() { all_versions | grep -E " ($1_|$2)" ; }
# remove stacks as docker stack rm does, waiting until the engine has let
# go of their networks (a network is in use while tasks stop)
rmstack() { python3 "$TOP/tests/lab/stackctl.py" "${DOCKER_HOST#unix://}" rm "$@" || rc=1; }
capture() { # stack -> normalised json on stdout (tests/lab/specnorm.py)
	local ids; ids=$(docker service ls -q --filter label=com.docker.stack.namespace="$1")
	{
		printf '{"services":'; docker service inspect $ids
		printf ',"networks":'; docker network inspect $(docker network ls -q)
		printf ',"secrets":'; docker secret ls -q | xargs -r docker secret inspect; [ -n "$(docker secret ls -q)" ] || printf '[]'
		printf ',"configs":'; docker config ls -q | xargs -r docker config inspect; [ -n "$(docker config ls -q)" ] || printf '[]'
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
	rmstack "d$name"
	( cd "$fx" && LAB_TEST_VAR=from-env "$SHOAL" stack deploy --resolve-image never "${args[@]}" "s$name" ) >"$T/shoal.out" 2>&1 ||
		{ echo "shoal stack deploy failed:"; cat "$T/shoal.out"; rc=1; return; }
	capture "s$name" > "$T/shoal-$name.json"
	rmstack "s$name"
	# the warnings docker prints for keys it ignores, word for word
	grep -A4 '^Ignoring' "$T/docker.out" | grep -v '^Since\|^In a future\|^Creating' > "$T/docker-warn.txt"
	grep -A4 '^Ignoring' "$T/shoal.out" | grep -v '^Since\|^In a future\|^Creating\|^Created' > "$T/shoal-warn.txt"
	[ "$name" != full ] || grep -q 'Ignoring unsupported options: privileged, restart' "$T/docker-warn.txt" ||
		{ echo "case full: docker's warnings not captured"; rc=1; }
	if ! diff -u "$T/docker-warn.txt" "$T/shoal-warn.txt"; then
		echo "case $name: warnings differ"; rc=1
	fi
	if python3 "$TOP/tests/lab/jsondiff.py" "$T/docker-$name.json" "$T/shoal-$name.json"; then
		echo "case $name: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%d %s" % (len(d[k]), k) for k in sorted(d)))' "$T/shoal-$name.json") identical"
	else
		echo "case $name: specs differ"; rc=1
	fi
}
run_case full full.yml
run_case seeds seeds.yml
run_case override override-base.yml override-extra.yml
run_case scalars scalars.yml
run_case ports ports.yml
run_case version3 version3.yml
run_case goparse goparse.yml
# timestamps: with CLI 28 or later, compared like the others; an older CLI
# stores them as written, so shoal is held to what CLI 28.2.2 stored
stored() { # json -> "Env …" / "Labels …" lines of service typed
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["services"]["STACK_typed"]["TaskTemplate"]["ContainerSpec"]
for e in sorted(c.get("Env", [])): print("Env", e)
for k, v in sorted(c.get("Labels", {}).items()): print("Labels", k + "=" + v)' "$1"
}
case $cli_version in
2[5-7].*)
	( cd "$fx" && "$SHOAL" stack deploy --resolve-image never -c timestamps.yml sts ) > "$T/shoal.out" 2>&1 ||
		{ echo "shoal stack deploy failed:"; cat "$T/shoal.out"; rc=1; }
	capture sts > "$T/shoal-timestamps.json"
	"$SHOAL" stack rm sts >/dev/null
	if diff -u "$fx/timestamps.cli28" <(stored "$T/shoal-timestamps.json"); then
		echo "case timestamps: docker CLI $cli_version stores YAML timestamps as written; shoal stores what CLI 28.2.2 did (timestamps.cli28)"
	else
		echo "case timestamps: shoal differs from docker CLI 28.2.2 (timestamps.cli28)"; rc=1
	fi ;;
*)
	run_case timestamps timestamps.yml
	diff -u "$fx/timestamps.cli28" <(stored "$T/docker-timestamps.json") ||
		{ echo "case timestamps: docker CLI $cli_version no longer stores what timestamps.cli28 says"; rc=1; } ;;
esac
run_case named named.yml
# a named secret whose file changed: the engine cannot change it; docker
# fails half way (its networks made), shoal refuses before any write
cp -r "$fx" "$T/named" && printf 'another token\n' > "$T/named/token.txt"
( cd "$fx" && "$SHOAL" stack deploy --resolve-image never -c named.yml sn ) > /dev/null 2>&1 || { echo "named: first deploy failed"; rc=1; }
before=$(stack_versions sn fixture-named)
( cd "$T/named" && "$SHOAL" stack deploy --resolve-image never -c named.yml sn ) > "$T/named.out" 2>&1 &&
	{ echo "named: shoal accepted new content under the same name"; rc=1; }
grep -q "secret named_token (name: fixture-named-token): the file's content differs.*rename it" "$T/named.out" ||
	{ echo "named: no clear refusal:"; cat "$T/named.out"; rc=1; }
[ "$before" = "$(stack_versions sn fixture-named)" ] || { echo "named: shoal wrote before refusing"; rc=1; }
rmstack sn
echo "named: new content under name: refused before any write ($(head -1 "$T/named.out" | cut -c1-80)...)"
# keys of CLI 25-28 (cli28.yml): the stored specs above; the lab engine
# (20.10, API 1.41) stores none of start_interval, volume subpath and
# oom_score_adj, so a second deploy of the same file must still write
# nothing (shoal sends an engine only what its API version knows) ...
# With a CLI older than 28 (Debian 13's 26 refuses some of these keys),
# shoal is held to what CLI 28.2.2 stored and sent, recorded in
# cli28.stored and *.requests (COMPARE_RECORD=1 with CLI 28 rewrites them);
# with CLI 28 docker must still store and send what they say.
old_cli=; case $cli_version in 2[5-7].*) old_cli=1 ;; esac
if [ -z "$old_cli" ]; then
	run_case cli28 cli28.yml
	if [ -n "${COMPARE_RECORD:-}" ]; then cp "$T/docker-cli28.json" "$fx/cli28.stored"
	else python3 "$TOP/tests/lab/jsondiff.py" "$fx/cli28.stored" "$T/docker-cli28.json" ||
		{ echo "case cli28: docker CLI $cli_version no longer stores what cli28.stored says"; rc=1; }
	fi
else
	( cd "$fx" && "$SHOAL" stack deploy --resolve-image never -c cli28.yml scli28 ) > "$T/shoal.out" 2>&1 ||
		{ echo "shoal stack deploy failed:"; cat "$T/shoal.out"; rc=1; }
	capture scli28 > "$T/shoal-cli28.json"
	rmstack scli28
	if python3 "$TOP/tests/lab/jsondiff.py" "$fx/cli28.stored" "$T/shoal-cli28.json"; then
		echo "case cli28: docker CLI $cli_version refuses some keys; shoal stores what CLI 28.2.2 did (cli28.stored)"
	else
		echo "case cli28: shoal differs from docker CLI 28.2.2 (cli28.stored)"; rc=1
	fi
fi
( cd "$fx" && "$SHOAL" stack deploy --resolve-image never -c cli28.yml s28 ) > /dev/null 2>&1 || { echo "cli28: deploy failed"; rc=1; }
( cd "$fx" && "$SHOAL" stack deploy --resolve-image never -c cli28.yml s28 ) > "$T/s28.out" 2>&1
grep -q "Stack s28 is up to date: nothing to do" "$T/s28.out" || { echo "cli28: a second deploy wrote:"; cat "$T/s28.out"; rc=1; }
rmstack s28
# ... and what each tool sends an engine of API 1.48 (Docker 28), which the
# lab cannot run: record-proxy.py answers as one in front of the lab's
# engine and records the create requests.  They must be the same but for
# one deliberate difference: docker CLI 28 reads oom_score_adj (its schema
# has it) but never sets it (its field lacks the decoder's tag); shoal
# sends it.  An image mount goes to the engine from both (it refuses it).
python3 "$TOP/tests/lab/record-proxy.py" "$T/rec.sock" "${DOCKER_HOST#unix://}" "$T/rec.log" 1.48 > "$T/rec.err" 2>&1 &
recpid=$!
for _ in $(seq 1 100); do DOCKER_HOST=unix://$T/rec.sock docker version > /dev/null 2>&1 && break; sleep 0.1; done
for c in cli28 image-mount; do
	if [ -z "$old_cli" ]; then
		( cd "$fx" && DOCKER_HOST=unix://$T/rec.sock "$DOCKER28" stack deploy --resolve-image never -c "$c.yml" "rd$c" ) > "$T/rd.out" 2>&1
		rmstack "rd$c"
		python3 "$TOP/tests/lab/reqnorm.py" "$T/rec.log" "rd$c" > "$T/rd-$c.json"
		if [ -n "${COMPARE_RECORD:-}" ]; then cp "$T/rd-$c.json" "$fx/$c.requests"
		else python3 "$TOP/tests/lab/jsondiff.py" "$fx/$c.requests" "$T/rd-$c.json" ||
			{ echo "case $c: docker CLI $cli_version no longer sends what $c.requests says"; rc=1; }
		fi
	else
		cp "$fx/$c.requests" "$T/rd-$c.json" # what CLI 28.2.2 sent
	fi
	( cd "$fx" && DOCKER_HOST=unix://$T/rec.sock "$SHOAL" stack deploy --resolve-image never -c "$c.yml" "rs$c" ) > "$T/rs.out" 2>&1
	rmstack "rs$c"
	python3 "$TOP/tests/lab/reqnorm.py" "$T/rec.log" "rs$c" > "$T/rs-$c.json"
	python3 "$TOP/tests/lab/jsondiff.py" "$T/rd-$c.json" "$T/rs-$c.json" > "$T/req-$c.diff"
	want=
	[ "$c" = cli28 ] && want='./services/create STACK_web.TaskTemplate.ContainerSpec.OomScoreAdj: docker="<absent>" shoal=-500'
	if [ "$(cat "$T/req-$c.diff")" = "$want" ] && grep -q services/create "$T/rd-$c.json"; then
		echo "case $c at API 1.48: $(grep -c '/create ' "$T/rs-$c.json") create requests the same${want:+ (but OomScoreAdj, which docker drops)}${old_cli:+, as CLI 28.2.2 sent ($c.requests)}"
	else
		echo "case $c at API 1.48: requests differ:"; cat "$T/req-$c.diff"; rc=1
	fi
done
kill "$recpid"
# ... while the lab's engine itself refuses an image mount: docker after
# making the stack's network, shoal before any write, saying why
( cd "$fx" && "$DOCKER28" stack deploy --resolve-image never -c image-mount.yml im ) > "$T/im-docker.txt" 2>&1 &&
	{ echo "image-mount: docker deployed it"; rc=1; }
rmstack im
before=$(stack_versions im im_)
( cd "$fx" && "$SHOAL" stack deploy --resolve-image never -c image-mount.yml im ) > "$T/im-shoal.txt" 2>&1 &&
	{ echo "image-mount: shoal deployed it"; rc=1; }
grep -q "mount /img: type image needs an engine with API 1.48" "$T/im-shoal.txt" || { echo "image-mount: no clear refusal"; cat "$T/im-shoal.txt"; rc=1; }
[ "$before" = "$(stack_versions im im_)" ] || { echo "image-mount: shoal wrote before refusing"; rc=1; }
echo "image-mount: docker: $(grep -i 'error\|invalid' "$T/im-docker.txt" | head -1 | cut -c1-90) | shoal: $(head -1 "$T/im-shoal.txt" | cut -c1-90)"
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

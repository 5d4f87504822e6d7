# Hostile repository input (issue 15, items 6, 10 and 11), against the lab
# engine and docker CLI 28:
# - the image reference table (tests/fixtures/image-refs.txt) is the
#   engine's: every verdict checked with a service create;
# - vars.env with a byte-order mark, invalid UTF-8 or a NUL byte, and an
#   env_file with invalid UTF-8, are refused at their file:line:column with
#   zero writes (no network either); an unset ${VAR} is warned of;
# - bad stack names, and stacks differing only by case, are refused with
#   zero writes; the engine's names are case-insensitive (checked);
# - a stack first deployed with docker stack deploy is a conflict: plan
#   shows it, apply writes nothing of it (the others apply), --adopt takes
#   it over, unmanaged objects are never removed (prune included), and the
#   agent reports it in /status without applying it.
. "$TOP/tests/lab/lib.sh"
need jq
compare_cli || exit 77
sock=${DOCKER_HOST#unix://}
api() { # METHOD PATH [BODY]: prints the HTTP status, the answer in api.out
	curl -s --unix-socket "$sock" -o api.out -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
		${3:+--data-binary "$3"} "http://engine/v1.41$2"
}
labels() { docker service inspect -f '{{json .Spec.Labels}}' "$1"; }
rc_is() { # want, stdout file, stderr file, command...
	local want=$1 out=$2 err=$3 rc; shift 3
	"$@" > "$out" 2> "$err"; rc=$?
	[ "$rc" = "$want" ] || { cat "$out" "$err"; fail "'$*' exited $rc, expected $want"; }
}

# --- the image reference table: every verdict is the engine's ---
n=0 bad=0
while IFS= read -r line; do
	case $line in '#'*|'') continue ;; esac
	want=${line%% *} ref=${line#* }
	n=$((n + 1))
	body=$(jq -cn --arg img "$ref" --arg n "imgref-$n" '{Name: $n, TaskTemplate: {ContainerSpec: {Image: $img}}, Mode: {Replicated: {Replicas: 0}}}')
	code=$(api POST /services/create "$body")
	case $code in
	201) got=ok; id=$(jq -r .ID api.out); api DELETE "/services/$id" >/dev/null ;;
	400) got=bad; grep -q 'is not a valid repository/tag' api.out || { echo "$ref: refused for another reason: $(cat api.out)"; bad=1; } ;;
	*) got="http $code"; cat api.out ;;
	esac
	[ "$got" = "$want" ] || { echo "image-refs.txt: '$ref' is $want there, the engine says $got: $(cat api.out)"; bad=1; }
done < "$TOP/tests/fixtures/image-refs.txt"
echo "image references: $n checked against the engine"
[ $bad = 0 ] || fail "the image reference table disagrees with the engine"

# docker CLI 28 refuses the reference local/busybox: before writing; one
# it lets through (a bare image ID) the engine refuses after docker made
# the stack's network; shoal writes nothing for either
hex=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
for img in local/busybox: $hex; do
	printf 'version: "3.8"\nservices:\n  web:\n    image: "%s"\n' "$img" > ref.yml
	before=$(all_versions)
	rc_is 1 /dev/null ref.err "$SHOAL" stack deploy --resolve-image never -c ref.yml refs
	grep -q "ref.yml:4:12: error: service web: invalid image reference for service web" ref.err || { cat ref.err; fail "$img: no positioned error"; }
	[ "$before" = "$(all_versions)" ] || fail "$img: shoal wrote something"
	"$DOCKER28" stack deploy --resolve-image never -c ref.yml dref > ref.docker 2>&1 && fail "$img: docker deployed it"
	echo "docker on $img: $(grep -v '^Creating' ref.docker | head -1) / wrote: $(docker network ls -q --filter label=com.docker.stack.namespace=dref | wc -l) network(s)"
	"$DOCKER28" stack rm dref >/dev/null 2>&1
	lab_wait_stack_gone dref || fail "docker's half-deployed stack did not go"
done

# --- hostile vars.env: refused with a position, nothing written ---
mkrepo() { # dir: a repository whose stack app has a network and ${TAG} in its image
	rm -rf "$1" && mkdir -p "$1/stacks/app"
	cat > "$1/stacks/app/app.yml" <<YML
version: "3.8"
services:
  web:
    image: "shoal-lab/busybox:\${TAG}"
    networks: [back]
    env_file: app.env
networks:
  back: {}
YML
	printf 'A=1\n' > "$1/stacks/app/app.env"
}
check_refused() { # repo, expected diagnostic: apply exits 1, says it, writes nothing
	local before; before=$(all_versions)
	rc_is 1 apply.out apply.err "$SHOAL" apply "$1"
	grep -qF "$2" apply.err || { cat apply.err; fail "$1: no '$2'"; }
	[ "$before" = "$(all_versions)" ] || { cat apply.out; fail "$1: something was written"; }
	[ -z "$(docker network ls -q --filter name=app_back)" ] || fail "$1: the stack's network was created"
	rc_is 1 /dev/null validate.err "$SHOAL" validate "$1"
	grep -qF "$2" validate.err || fail "$1: validate does not say '$2'"
}
mkrepo bom; printf '\xef\xbb\xbfTAG=latest\n' > bom/vars.env
check_refused bom "bom/vars.env:1:1: error: the file starts with a UTF-8 byte-order mark"
mkrepo utf; printf 'A=1\nTAG=lat\xe9st\n' > utf/vars.env
check_refused utf "utf/vars.env:2:8: error: invalid UTF-8 (byte 0xe9)"
mkrepo nul; printf 'A=1\nTAG=latest\0\n' > nul/vars.env
check_refused nul "nul/vars.env:2:11: error: a NUL byte"
mkrepo own; printf 'TAG=latest\n' > own/vars.env; printf 'TAG=\xc3\n' > own/stacks/app/vars.env
check_refused own "own/stacks/app/vars.env:1:5: error: invalid UTF-8 (byte 0xc3)"
mkrepo envf; printf 'TAG=latest\n' > envf/vars.env; printf 'A=1\nB=\xff\n' > envf/stacks/app/app.env
check_refused envf "envf/stacks/app/app.env:2:3: error: invalid UTF-8 (byte 0xff)"
# a BOM starting an env_file is dropped, as docker does; an unset
# variable is warned of at its place and is blank
mkrepo good; printf 'TAG=latest\n' > good/vars.env; printf '\xef\xbb\xbfA=1\n' > good/stacks/app/app.env
sed -i 's|    env_file: app.env|    env_file: app.env\n    hostname: "h${UNSET}"|' good/stacks/app/app.yml
"$SHOAL" apply good > apply.out 2> apply.err || { cat apply.err; fail "good repository refused"; }
grep -qF 'good/stacks/app/app.yml:7:15: warning: The "UNSET" variable is not set. Defaulting to a blank string.' apply.err ||
	{ cat apply.err; fail "no warning for the unset variable"; }
docker service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' app_web | grep -q '"A=1"' || fail "env_file with a BOM not read as docker reads it"
"$SHOAL" stack rm app >/dev/null; lab_wait_stack_gone app || fail "app did not go"

# --- stack names ---
for name in -x _x x.y; do
	rm -rf names && mkdir -p "names/stacks/$name"
	printf 'services:\n  web:\n    image: %s\n' "$LAB_IMAGE" > "names/stacks/$name/a.yml"
	before=$(all_versions)
	rc_is 1 /dev/null names.err "$SHOAL" apply names
	grep -qF "names/stacks/$name: error: invalid stack name \"$name\"" names.err || { cat names.err; fail "stack $name: not refused by name"; }
	[ "$before" = "$(all_versions)" ] || fail "stack $name: something was written"
	rc_is 1 /dev/null names.err "$SHOAL" stack deploy --resolve-image never -c "names/stacks/$name/a.yml" -- "$name"
	grep -qF "invalid stack name \"$name\"" names.err || { cat names.err; fail "stack deploy $name: not refused by name"; }
	[ "$before" = "$(all_versions)" ] || fail "stack deploy $name: something was written"
done
# the engine's names are case-insensitive: a second object whose name
# differs only by case is refused (services, overlay networks, secrets)
svc() { jq -cn --arg n "$1" --arg i "$LAB_IMAGE" '{Name: $n, TaskTemplate: {ContainerSpec: {Image: $i}}, Mode: {Replicated: {Replicas: 0}}}'; }
[ "$(api POST /services/create "$(svc CaseSvc)")" = 201 ] || fail "service CaseSvc: $(cat api.out)"
code=$(api POST /services/create "$(svc casesvc)")
echo "engine: service casesvc after CaseSvc: $code $(cat api.out)"
[ "$code" != 201 ] || fail "the engine took services differing only by case"
code=$(api POST /networks/create '{"Name":"CaseNet","Driver":"overlay","CheckDuplicate":true}')
[ "$code" = 201 ] || fail "network CaseNet: $(cat api.out)"
code=$(api POST /networks/create '{"Name":"casenet","Driver":"overlay","CheckDuplicate":true}')
echo "engine: network casenet after CaseNet: $code $(cat api.out)"
[ "$code" != 201 ] || fail "the engine took networks differing only by case"
[ "$(api POST /secrets/create '{"Name":"CaseSec","Data":"eA=="}')" = 201 ] || fail "secret CaseSec: $(cat api.out)"
code=$(api POST /secrets/create '{"Name":"casesec","Data":"eA=="}')
echo "engine: secret casesec after CaseSec: $code $(cat api.out)"
[ "$code" != 201 ] || fail "the engine took secrets differing only by case"
docker service rm CaseSvc >/dev/null; docker network rm CaseNet >/dev/null; docker secret rm CaseSec >/dev/null
# so: two folders differing only by case are both refused
rm -rf cases && mkdir -p cases/stacks/Foo cases/stacks/foo
for s in Foo foo; do printf 'services:\n  web:\n    image: %s\n' "$LAB_IMAGE" > "cases/stacks/$s/a.yml"; done
before=$(all_versions)
rc_is 1 /dev/null cases.err "$SHOAL" apply cases
grep -qF 'cases/stacks/Foo: error: stacks Foo and foo differ only by case' cases.err || { cat cases.err; fail "Foo/foo not refused"; }
grep -qF 'cases/stacks/foo: error: stacks foo and Foo differ only by case' cases.err || { cat cases.err; fail "foo/Foo not refused"; }
[ "$before" = "$(all_versions)" ] || fail "Foo/foo: something was written"
# and a stack whose objects another stack has, but for the case, too
rm -rf cases/stacks/foo
"$SHOAL" apply cases > /dev/null 2> cases.err || { cat cases.err; fail "stack Foo alone"; }
rm -rf cases2 && mkdir -p cases2/stacks/foo && cp cases/stacks/Foo/a.yml cases2/stacks/foo/
before=$(all_versions)
rc_is 1 /dev/null cases.err "$SHOAL" apply cases2 --no-prune
grep -qF "stack foo: service foo_web cannot be created: service Foo_web exists in stack Foo (the engine's names are case-insensitive)" cases.err ||
	{ cat cases.err; fail "foo next to a live Foo not refused"; }
[ "$before" = "$(all_versions)" ] || fail "foo next to Foo: something was written"
"$SHOAL" stack rm Foo >/dev/null; lab_wait_stack_gone Foo || fail "Foo did not go"

# --- a stack deployed with docker stack deploy, then in a repository ---
printf 'tok\n' > tok.txt
cat > legacy.yml <<YML
version: "3.8"
services:
  web:
    image: $LAB_IMAGE
    secrets: [tok]
  db:
    image: $LAB_IMAGE
secrets:
  tok:
    file: ./tok.txt
YML
"$DOCKER28" stack deploy --resolve-image never -c legacy.yml legacy > docker.out 2>&1 || { cat docker.out; fail "docker stack deploy"; }
rm -rf repo && mkdir -p repo/stacks/legacy repo/stacks/app
cp legacy.yml tok.txt repo/stacks/legacy/
sed -i 's/^  db:/  db:\n    hostname: changed/' repo/stacks/legacy/legacy.yml
printf 'services:\n  web:\n    image: %s\n' "$LAB_IMAGE" > repo/stacks/app/app.yml
legacy_before=$(all_versions | grep legacy)
rc_is 1 plan.txt plan.err "$SHOAL" plan repo
cat plan.txt
grep -qF '! stack legacy was deployed by other means (2 services, 1 network, 1 secret without io.shoal.managed): not applied' plan.txt ||
	fail "plan does not show the conflict"
rc_is 1 plan.json plan.err "$SHOAL" plan repo --format json
[ "$(jq -r '.conflicts[0].stack + " " + (.conflicts[0].adopted | tostring) + " " + (.in_sync | tostring)' plan.json)" = "legacy false false" ] ||
	{ cat plan.json; fail "json plan: no conflict"; }
jq -e '[.operations[] | select(.stack == "legacy")] | length == 0' plan.json > /dev/null || fail "json plan has operations for legacy"
rc_is 1 apply.out apply.err "$SHOAL" apply repo
grep -qF 'shoal: stack legacy was deployed by other means' apply.err || { cat apply.err; fail "apply does not say why"; }
[ "$legacy_before" = "$(all_versions | grep legacy)" ] || fail "apply wrote to legacy without --adopt"
docker service inspect app_web > /dev/null || fail "the other stack was not applied"
# an unmanaged service in a managed stack's namespace is left alone
docker service create -q --name app_extra --label com.docker.stack.namespace=app --replicas 0 "$LAB_IMAGE" > /dev/null
# adopted when asked: the services become shoal's, docker's secret and
# network stay (never removed, also once the folder is gone)
"$SHOAL" plan repo --adopt legacy > plan2.txt 2>&1; rc=$?
[ $rc = 2 ] || { cat plan2.txt; fail "plan --adopt exit $rc, expected 2"; }
grep -qF 'adopting it (--adopt)' plan2.txt || { cat plan2.txt; fail "plan --adopt does not say it adopts"; }
"$SHOAL" apply repo --adopt legacy > apply.out 2> apply.err || { cat apply.err; fail "apply --adopt"; }
for s in legacy_web legacy_db; do labels $s | grep -q '"io.shoal.managed":"true"' || fail "$s not adopted"; done
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Hostname}}' legacy_db | grep -qx changed || fail "legacy_db not updated"
docker service inspect app_extra > /dev/null 2>&1 || fail "apply removed the unmanaged app_extra"
"$SHOAL" plan repo > plan3.txt 2>&1 || { cat plan3.txt; fail "after adoption the repository is not in sync"; }
rm -rf repo/stacks/legacy
"$SHOAL" apply repo > apply.out 2> apply.err || { cat apply.err; fail "apply after removing legacy"; }
for _ in $(seq 1 50); do docker service inspect legacy_web legacy_db > /dev/null 2>&1 || break; sleep 0.2; done
docker service inspect legacy_web > /dev/null 2>&1 && fail "adopted legacy_web not pruned"
docker secret inspect legacy_tok > /dev/null 2>&1 || fail "docker's secret legacy_tok was removed"
docker network inspect legacy_default > /dev/null 2>&1 || fail "docker's network legacy_default was removed"
docker service inspect app_extra > /dev/null 2>&1 || fail "prune removed the unmanaged app_extra"
docker service rm app_extra > /dev/null; docker secret rm legacy_tok > /dev/null
"$SHOAL" stack rm app legacy > /dev/null; lab_wait_stack_gone app; lab_wait_stack_gone legacy

# a stack from shoal stack deploy (its secrets carry io.shoal.object, not
# io.shoal.managed), adopted with a new secret value: the secret it
# rotates away is not shoal's to remove in a repository
mkdir -p sd && printf 'one\n' > sd/tok.txt && cp legacy.yml sd/sd.yml
"$SHOAL" stack deploy --resolve-image never -c sd/sd.yml sd > /dev/null 2> sd.err || { cat sd.err; fail "shoal stack deploy sd"; }
old_secret=$(docker secret ls -q --filter label=com.docker.stack.namespace=sd | xargs docker secret inspect -f '{{.Spec.Name}}')
rm -rf repo && mkdir -p repo/stacks/sd && cp sd/sd.yml repo/stacks/sd/ && printf 'two\n' > repo/stacks/sd/tok.txt
rc_is 1 apply.out apply.err "$SHOAL" apply repo
grep -qF 'stack sd was deployed by other means' apply.err || { cat apply.err; fail "shoal stack deploy's stack adopted silently"; }
"$SHOAL" apply repo --adopt-all > apply.out 2> apply.err || { cat apply.err; fail "apply --adopt-all"; }
docker secret inspect "$old_secret" > /dev/null 2>&1 || fail "the unmanaged secret $old_secret was removed"
[ "$(docker secret ls -q --filter label=com.docker.stack.namespace=sd | wc -l)" = 2 ] || fail "no new secret for sd"
"$SHOAL" stack rm sd > /dev/null; lab_wait_stack_gone sd

# --- the agent: the conflict is the stack's error in /status, not applied ---
git_server_start; case $? in 0) ;; 77) echo "SKIP: lighttpd missing: agent part NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID aport=$((GIT_PORT + 1))
trap 'kill $hpid $apid 2>/dev/null' EXIT
"$DOCKER28" stack deploy --resolve-image never -c legacy.yml legacy > docker.out 2>&1 || { cat docker.out; fail "docker stack deploy (agent)"; }
rm -rf src && mkdir -p src/stacks/legacy src/stacks/app
cp legacy.yml tok.txt src/stacks/legacy/
printf 'services:\n  web:\n    image: %s\n' "$LAB_IMAGE" > src/stacks/app/app.yml
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git add -A && git commit -qm v1 && git push -q ../origin.git main ) || fail "push v1"
v1=$(git -C src rev-parse HEAD)
legacy_before=$(all_versions | grep legacy)
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport --cache "$T/cache.git" \
	--converge-timeout 30s > agent.log 2>&1 &
apid=$!
st() { curl -fs "http://127.0.0.1:$aport/status"; }
end=$((SECONDS + 120))
while [ $SECONDS -lt $end ] && [ "$(st | jq -r .commit_failed)" != "$v1" ]; do sleep 0.2; done
st > status.json
[ "$(jq -r .commit_failed status.json)" = "$v1" ] || { cat agent.log; fail "the agent did not report the commit as failed"; }
jq -r .stacks.legacy.error status.json | grep -qF 'stack legacy was deployed by other means' || { cat status.json; fail "no conflict in /status"; }
[ "$(jq -r .stacks.legacy.commit_applied status.json)" = null ] || fail "legacy shown as applied"
[ "$(jq -r .stacks.app.commit_applied status.json)" = "$v1" ] || { cat status.json; fail "app not applied by the agent"; }
[ "$legacy_before" = "$(all_versions | grep legacy)" ] || fail "the agent wrote to legacy"
kill $apid; wait $apid 2>/dev/null
echo "agent: $(jq -c .stacks.legacy status.json)"

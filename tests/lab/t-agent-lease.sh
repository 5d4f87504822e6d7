# Two agents on one repository: one lease, held in the swarm (a config
# object updated with ?version=), so exactly one writes; when it is killed
# (SIGKILL, no goodbye) the other takes over after the lease expires.
. "$TOP/tests/lab/lib.sh"
command -v lighttpd >/dev/null || { echo "SKIP: lighttpd missing: lease NOT TESTED"; exit 77; }
make_repo src
# every stand-in can be placed, so each apply converges
docker node update --label-add usage=apps --label-add mongo01=true --label-add mongo02=true \
	--label-add mongo03=true "$(docker node ls -q)" >/dev/null
git init -q --bare origin.git
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git add -A && git commit -qm v1 && git push -q ../origin.git main ) || fail "push v1"
port=$((20000 + RANDOM % 20000)); pa=$((port + 1)); pb=$((port + 2))
cat > httpd.conf <<CONF
server.document-root = "$T"
server.bind = "127.0.0.1"
server.port = $port
server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
alias.url = ("/git/" => "/usr/lib/git-core/git-http-backend/")
\$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "$T", "GIT_HTTP_EXPORT_ALL" => "1")
}
CONF
lighttpd -D -f httpd.conf > http.log 2>&1 &
hpid=$!
trap 'kill $hpid $aa $ab 2>/dev/null' EXIT
sleep 0.3
run_agent() { "$SHOAL" agent --repo "http://127.0.0.1:$port/git/origin.git" --interval 1s --lease-ttl 4s \
	--listen "127.0.0.1:$1" --cache "$T/cache-$1.git" > "agent-$1.log" 2>&1 & }
run_agent $pa; aa=$!
run_agent $pb; ab=$!
field() { curl -fs "http://127.0.0.1:$1/status" | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$2\"]; print(v if v is not None else '')" 2>/dev/null; }
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 100); do
	[ "$(field $pa commit_applied)" = "$v1" ] || [ "$(field $pb commit_applied)" = "$v1" ] && break
	sleep 0.1
done
sleep 2
ra=$(field $pa role); rb=$(field $pb role)
echo "roles: a=$ra b=$rb"
[ "$ra$rb" = leaderstandby ] || [ "$ra$rb" = standbyleader ] || fail "roles $ra/$rb: want exactly one leader"
if [ "$ra" = leader ]; then lead=$pa lpid=$aa other=$pb; else lead=$pb lpid=$ab other=$pa; fi
[ -z "$(field $other commit_applied)" ] || fail "the standby applied something"
grep -q 'standing by' "agent-$other.log" || fail "standby did not say so"
# the leader applies a new commit; the standby does not
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm v2 && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field $lead commit_applied)" = "$v2" ] && break; sleep 0.1; done
[ "$(field $lead commit_applied)" = "$v2" ] || fail "leader did not apply v2"
[ -z "$(field $other commit_applied)" ] || fail "the standby applied v2 too"
# the leader dies without releasing: the standby takes over after the TTL
kill -9 $lpid
( cd src && git revert --no-edit HEAD >/dev/null && git push -q ../origin.git main ) || fail "push v3"
v3=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field $other commit_applied)" = "$v3" ] && break; sleep 0.1; done
[ "$(field $other commit_applied)" = "$v3" ] || { cat "agent-$other.log"; fail "standby did not take over"; }
[ "$(field $other role)" = leader ] || fail "new leader's role"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = "$LAB_IMAGE" ] || fail "v3 content"

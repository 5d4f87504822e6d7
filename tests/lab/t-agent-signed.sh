# shoal agent --require-signed: a signed commit is deployed; an unsigned one
# pushed after it is not, status and logs say why, and the last good commit
# stays deployed until a signed commit comes.
. "$TOP/tests/lab/lib.sh"
command -v lighttpd >/dev/null && command -v ssh-keygen >/dev/null || { echo "SKIP: lighttpd or ssh-keygen missing: signed agent NOT TESTED"; exit 77; }
ssh-keygen -q -t ed25519 -N '' -C ci -f ci.key
echo "ci@example.invalid $(cut -d' ' -f1,2 ci.key.pub)" > allowed
make_repo src
# every stand-in can be placed, so each apply converges
docker node update --label-add usage=apps --label-add mongo01=true --label-add mongo02=true \
	--label-add mongo03=true "$(docker node ls -q)" >/dev/null
git init -q --bare origin.git
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git config gpg.format ssh && git config user.signingkey ../ci.key &&
  git add -A && git commit -qS -m v1 && git push -q ../origin.git main ) || fail "push v1"
port=$((20000 + RANDOM % 20000)); aport=$((port + 1))
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
trap 'kill $hpid $apid 2>/dev/null' EXIT
cat > agent.conf <<CONF
# the same options as the command line, one per line
repo = http://127.0.0.1:$port/git/origin.git
interval = 1s
listen = 127.0.0.1:$aport
cache = $T/cache.git
require-signed = true
allowed-signers = $T/allowed
log-format = json
CONF
sleep 0.3
"$SHOAL" agent --config agent.conf > agent.log 2>&1 &
apid=$!
st() { curl -fs "http://127.0.0.1:$aport/status"; }
field() { st | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v1" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v1" ] || { cat agent.log; fail "signed v1 not applied"; }
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -q -m "v2 unsigned" && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
for _ in $(seq 1 100); do [ "$(field commit_failed)" = "$v2" ] && break; sleep 0.1; done
[ "$(field commit_failed)" = "$v2" ] || { cat agent.log; fail "unsigned v2 not reported"; }
field last_error | grep -q 'is not signed' || fail "status does not say why: $(field last_error)"
[ "$(field commit_applied)" = "$v1" ] || fail "applied moved off v1"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = "$LAB_IMAGE" ] || fail "unsigned change deployed"
grep -q '"level": *"error".*is not signed' agent.log || { cat agent.log; fail "json log line"; }
( cd src && git commit -q --allow-empty -S -m "v3 signed" && git push -q ../origin.git main ) || fail "push v3"
v3=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v3" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v3" ] || fail "signed v3 not applied"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = shoal-lab/busybox:latest ] || fail "v3 content"

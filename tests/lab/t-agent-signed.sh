# shoal agent --require-signed: a signed commit is deployed; an unsigned one
# pushed after it is not, status and logs say why, and the last good commit
# stays deployed until a signed commit comes.
. "$TOP/tests/lab/lib.sh"
need lighttpd ssh-keygen
ssh-keygen -q -t ed25519 -N '' -C ci -f ci.key
echo "ci@example.invalid $(cut -d' ' -f1,2 ci.key.pub)" > allowed
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: signed agent NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
label_node_for_template
SIGN=1 src_init gpg.format=ssh user.signingkey=../ci.key
port=$GIT_PORT; aport=$((port + 1)); hpid=$HTTPD_PID
trap 'kill $hpid $apid 2>/dev/null' EXIT
cat > agent.conf <<CONF
# the same options as the command line, one per line
repo = $GIT_URL
interval = 1s
listen = 127.0.0.1:$aport
cache = $T/cache.git
run-dir = $T/run
require-signed = true
allowed-signers = $T/allowed
log-format = json
CONF
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

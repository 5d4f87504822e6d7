# A private registry (Debian's docker-registry, htpasswd auth, on the lab
# namespace's loopback): without credentials the node cannot pull and the
# agent reports the rejected task; with --registry-auth (a docker
# config.json) the image is pinned by digest and pulled; an unchanged tag
# asks the registry nothing on polls (resolve-image changed); a service
# labelled io.shoal.follow-tag=true follows its tag when the digest moves,
# its unlabelled twin does not.  The password never reaches a log.
. "$TOP/tests/lab/lib.sh"
need docker-registry
pw=reg-pa55-$RANDOM$RANDOM
python3 -W ignore -c "import crypt,sys; print('lab:' + crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))" "$pw" > htpasswd ||
	fail "bcrypt"
cat > reg.yml <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $T/registry}}
http: {addr: 127.0.0.1:5000}
auth: {htpasswd: {realm: lab, path: $T/htpasswd}}
log: {level: info}
YML
nsenter --net=/run/netns/"$LAB_NS" docker-registry serve reg.yml > registry.log 2>&1 &
rpid=$! apid=
trap 'kill $rpid $apid 2>/dev/null' EXIT
for _ in $(seq 1 50); do grep -q 'listening on' registry.log && break; sleep 0.1; done
export DOCKER_CONFIG="$T/dockercfg"
printf '%s' "$pw" | docker login -u lab --password-stdin 127.0.0.1:5000 >/dev/null 2>&1 || { tail registry.log; fail "login"; }
grep -q '"127.0.0.1:5000"' "$DOCKER_CONFIG/config.json" || fail "no auths entry"
docker tag "$LAB_IMAGE" 127.0.0.1:5000/kitten:1
docker push 127.0.0.1:5000/kitten:1 >/dev/null || fail "push"
d1=$(docker image inspect -f '{{index .RepoDigests 0}}' 127.0.0.1:5000/kitten:1 | sed 's/.*@//')
docker rmi 127.0.0.1:5000/kitten:1 >/dev/null || fail "rmi"
# the repository
mkdir -p src/stacks/app
cat > src/stacks/app/app.yml <<YML
version: "3.8"
services:
  web:
    image: 127.0.0.1:5000/kitten:1
    init: true
    deploy:
      labels:
        io.shoal.follow-tag: "true"
  plain:
    image: 127.0.0.1:5000/kitten:1
    init: true
YML
git init -q --bare -b main origin.git
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git add -A && git commit -qm v1 && git push -q ../origin.git main ) || fail "push v1"
AGENT=("$SHOAL" agent --repo "$T/origin.git" --cache "$T/cache.git" --run-dir "$T/run")
img() { docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$1"; }
# no credentials: resolution fails (tag deployed), the node cannot pull,
# the agent says so instead of waiting for the timeout
expect_rc_log 1 a1.log "${AGENT[@]}" --once --converge-timeout 60s
grep -q 'no digest from its registry' a1.log || { cat a1.log; fail "no resolution warning"; }
grep -q 'task rejected' a1.log || { cat a1.log; fail "pull failure not reported"; }
[ "$(img app_web)" = 127.0.0.1:5000/kitten:1 ] || fail "tag not deployed: $(img app_web)"
# credentials: pinned and pulled (a fresh deploy: with resolve-image
# changed an unchanged tag is not resolved again, see README)
docker service rm app_web app_plain >/dev/null
expect_rc_log 0 a2.log "${AGENT[@]}" --once --registry-auth "$DOCKER_CONFIG/config.json"
[ "$(img app_web)" = "127.0.0.1:5000/kitten:1@$d1" ] || { cat a2.log; fail "not pinned: $(img app_web)"; }
[ "$(docker service ls --filter name=app_web --format '{{.Replicas}}')" = 1/1 ] || fail "web not running"
grep -q 'auth.user.name="\?lab' registry.log || fail "the registry saw no authenticated request"
# an unchanged tag: polls ask the registry nothing
port=$(lab_port)
"${AGENT[@]}" --registry-auth "$DOCKER_CONFIG/config.json" --interval 1s --follow-interval 1h --listen 127.0.0.1:$port > a3.log 2>&1 &
apid=$!
field() { curl -fs "http://127.0.0.1:$port/status" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"] or '')" 2>/dev/null; }
for _ in $(seq 1 100); do [ -n "$(field commit_applied)" ] && break; sleep 0.1; done
[ -n "$(field commit_applied)" ] || { cat a3.log; fail "a3 did not settle"; }
n0=$(grep -c 'GET /v2/' registry.log)
sleep 4
[ "$(grep -c 'GET /v2/' registry.log)" = "$n0" ] || fail "polls asked the registry about an unchanged tag"
kill $apid; wait $apid 2>/dev/null
# the tag moves: the follower follows (within its rate), its twin stays
printf 'FROM %s\nLABEL version=2\n' "$LAB_IMAGE" | DOCKER_BUILDKIT=0 docker build -q -t 127.0.0.1:5000/kitten:1 - >/dev/null 2>&1 ||
	fail "build v2"
docker push 127.0.0.1:5000/kitten:1 >/dev/null || fail "push 2"
d2=$(docker image inspect -f '{{index .RepoDigests 0}}' 127.0.0.1:5000/kitten:1 | sed 's/.*@//')
[ "$d1" != "$d2" ] || { docker image inspect -f "{{.ID}} {{.RepoDigests}}" 127.0.0.1:5000/kitten:1 shoal-lab/busybox:latest "$LAB_IMAGE"; fail "the tag did not move"; }
"${AGENT[@]}" --registry-auth "$DOCKER_CONFIG/config.json" --interval 1s --follow-interval 2s --listen 127.0.0.1:$port > a4.log 2>&1 &
apid=$!
for _ in $(seq 1 300); do [ "$(img app_web)" = "127.0.0.1:5000/kitten:1@$d2" ] && break; sleep 0.1; done
[ "$(img app_web)" = "127.0.0.1:5000/kitten:1@$d2" ] || { cat a3.log a4.log; fail "web did not follow its tag"; }
[ "$(img app_plain)" = "127.0.0.1:5000/kitten:1@$d1" ] || fail "plain moved without the label"
curl -fs "http://127.0.0.1:$port/metrics" | grep -q '^shoal_follow_updates_total 1$' || fail "follow update not counted"
grep -q 'follow: app_web' a4.log || fail "follow not logged"
sleep 5 # further ticks: nothing more to do
[ "$(img app_plain)" = "127.0.0.1:5000/kitten:1@$d1" ] || fail "plain moved later"
curl -fs "http://127.0.0.1:$port/metrics" | grep -q '^shoal_follow_updates_total 1$' || fail "follow updated again"
! grep -l -- "$pw" ./*.log || fail "the registry password reached a log"
echo "ok: pull rejected without credentials, pinned and pulled with them, no registry request for an unchanged tag, follow-tag"

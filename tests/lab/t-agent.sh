# shoal agent against a real smart-HTTP Git server (git http-backend behind
# lighttpd on loopback): applies the branch head, makes no writes while
# nothing changes, follows a pushed commit on a signed webhook (a bad
# signature is refused), rolls back on git revert, reverts hand-made drift,
# serves /healthz /readyz /status /metrics, and stops cleanly on SIGTERM.
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: agent NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
label_node_for_template
src_init
port=$GIT_PORT; aport=$((port + 1)); hpid=$HTTPD_PID
printf 'hook-s3cret' > hook.secret
trap 'kill $hpid $apid 2>/dev/null' EXIT
"$SHOAL" agent --repo "$GIT_URL" --interval 2s --drift-interval 3s \
	--listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" --webhook-secret-file hook.secret > agent.log 2>&1 &
apid=$!
api() { curl -fs "http://127.0.0.1:$aport$1"; }
field() { api /status | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
applied() { api /status | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit_applied"])' 2>/dev/null; }
wait_applied() { # sha seconds
	for _ in $(seq 1 $(($2 * 10))); do [ "$(applied)" = "$1" ] && return 0; sleep 0.1; done
	return 1
}
v1=$(git -C src rev-parse HEAD)
wait_applied "$v1" 30 || { cat agent.log; fail "v1 not applied"; }
api /healthz | grep -q ok || fail "healthz"
api /readyz | grep -q ready || fail "readyz"
docker service inspect kittenapi_kittenapi >/dev/null || fail "services missing"
# nothing changes: polls and a drift check make no writes
before=$(all_versions)
w0=$(api /metrics | awk '/^shoal_writes_total/ {print $2}')
sleep 7
[ "$before" = "$(all_versions)" ] || fail "versions changed with nothing to do"
[ "$(api /metrics | awk '/^shoal_writes_total/ {print $2}')" = "$w0" ] || fail "writes counted while idle"
# a pushed commit, announced by a signed webhook
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm v2 && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
body='{"ref":"refs/heads/main"}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac hook-s3cret | sed 's/.* //')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Hub-Signature-256: sha256=0000$sig" -d "$body" "http://127.0.0.1:$aport/webhook")
[ "$code" = 401 ] || fail "bad signature gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "http://127.0.0.1:$aport/webhook")
[ "$code" = 202 ] || fail "good signature gave $code"
wait_applied "$v2" 60 || { cat agent.log; fail "v2 not applied"; }
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = shoal-lab/busybox:latest ] || fail "v2 image"
# the log counts the apply's writes, not the lease renewals made while waiting
grep -q "commit ${v2:0:12} applied: 1 operation, 1 write request$" agent.log || { grep "${v2:0:12}" agent.log; fail "v2 write count"; }
# rollback by git revert
( cd src && git revert --no-edit HEAD >/dev/null && git push -q ../origin.git main ) || fail "push revert"
v3=$(git -C src rev-parse HEAD)
wait_applied "$v3" 60 || { cat agent.log; fail "revert not applied"; }
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = "$LAB_IMAGE" ] || fail "not rolled back"
# drift made by hand is reverted at the next drift check
docker service update -d --env-add HAND=made kittenapi_kittenapi >/dev/null
for _ in $(seq 1 100); do
	docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Env}}' kittenapi_kittenapi | grep -q HAND || break
	sleep 0.1
done
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Env}}' kittenapi_kittenapi | grep -q HAND && fail "drift not reverted"
api /metrics | grep -q '^shoal_drift_corrections_total [1-9]' || fail "drift correction not counted"
# shoal status: the same for a person
"$SHOAL" status --agent "http://127.0.0.1:$aport" > status.txt || fail "shoal status"
cat status.txt
grep -q "^COMMIT APPLIED *${v3:0:12}" status.txt || fail "status table"
# what wrote each service: v2's apply labelled kittenapi, left mongo alone
# (the label is not compared: an unchanged service is not rewritten)
lbl() { docker service inspect -f '{{index .Spec.Labels "io.shoal.commit"}}' "$1"; }
[ "$(lbl kittenapi_kittenapi)" = "$v3" ] || fail "kittenapi's commit label: $(lbl kittenapi_kittenapi)"
[ "$(lbl mongo_mongo01)" = "$v1" ] || fail "mongo01 was rewritten: $(lbl mongo_mongo01)"
st() { api /status | python3 -c "import json,sys; j=json.load(sys.stdin)['stacks']; print($1)"; }
[ "$(st "j['kittenapi']['commit_applied']")" = "$v3" ] || fail "per-stack commit"
[ "$(st "j['kittenapi']['services']['kittenapi_kittenapi']['desired']")" = 2 ] || fail "per-service state: $(api /status)"
grep -q "^kittenapi .*kittenapi_kittenapi *[0-9]/2 " status.txt || fail "status table per service"
# an invalid commit: nothing of that stack applied, the error in /status,
# the previous state kept; the other stacks are at the new commit
specs() { docker service ls -q | xargs docker service inspect -f '{{json .Spec}}' | sort; }
before=$(specs)
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  sed -i 's/replicas: 2/replicas: two/' stacks/kittenapi/kittenapi.yml &&
  git add -A && git commit -qm broken && git push -q ../origin.git main ) || fail "push broken"
v4=$(git -C src rev-parse HEAD)
for _ in $(seq 1 100); do [ "$(field commit_failed)" = "$v4" ] && break; sleep 0.1; done
[ "$(field commit_failed)" = "$v4" ] || fail "invalid commit not reported failed"
# each error where it is (issue 18, item 4), the commit invalid in the history
field last_error | grep -q '^stacks/kittenapi/kittenapi.yml:[0-9]*:[0-9]*: .*replicas must be an integer' ||
	fail "no positioned error in /status: $(field last_error)"
[ "$(api /status | python3 -c 'import json,sys; h=json.load(sys.stdin)["history"][0]; print(h["commit"], h["outcome"])')" = "$v4 invalid" ] ||
	fail "history: $(api /status | python3 -c 'import json,sys; print(json.load(sys.stdin)["history"][:1])')"
[ "$(st "j['kittenapi']['commit_applied']")" = "$v3" ] || fail "kittenapi moved to the invalid commit"
st "j['kittenapi']['error']" | grep -q invalid || fail "no per-stack error"
[ "$(st "j['mongo']['commit_applied']")" = "$v4" ] || fail "valid stacks not at the new commit"
[ "$before" = "$(specs)" ] || fail "the invalid commit changed a service"
# the fix is applied
( cd src && sed -i 's/replicas: two/replicas: 2/' stacks/kittenapi/kittenapi.yml &&
  git add -A && git commit -qm fixed && git push -q ../origin.git main ) || fail "push fix"
v5=$(git -C src rev-parse HEAD)
wait_applied "$v5" 60 || { cat agent.log; fail "fix not applied"; }
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = shoal-lab/busybox:latest ] || fail "fix content"
[ "$(st "j['kittenapi']['error']")" = None ] || fail "per-stack error not cleared"
# SIGTERM: clean stop
kill -TERM $apid
for _ in $(seq 1 50); do kill -0 $apid 2>/dev/null || break; sleep 0.1; done
kill -0 $apid 2>/dev/null && fail "agent did not stop on SIGTERM"
wait $apid; rc=$?
[ $rc = 0 ] || fail "agent exit $rc"
grep -q 'stopping on signal' agent.log || fail "no stop message"
grep -q 'LCg1SMxoWDg7gkuQ\|s3cr3t\|hook-s3cret' agent.log && fail "a secret in the agent log"
cat agent.log
true

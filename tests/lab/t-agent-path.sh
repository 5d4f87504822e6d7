# --path: one repository serving several swarms.  The agent deploys only
# clusters/prod; a commit that changes only clusters/staging is seen and
# makes zero writes; a commit to clusters/prod is applied.
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
label_node_for_template
make_repo tmpl
mkdir -p src/clusters && cp -r tmpl src/clusters/prod && cp -r tmpl src/clusters/staging
sed -i 's/replicas: 2/replicas: 1/' src/clusters/staging/stacks/kittenapi/kittenapi.yml
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git add -A && git commit -qm v1 && git push -q ../origin.git main ) || fail "push v1"
aport=$((GIT_PORT + 1))
"$SHOAL" agent --repo "$GIT_URL" --path clusters/prod --interval 1s --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --run-dir "$T/run" --key "$SHOAL_KEY_FILE" > agent.log 2>&1 &
apid=$!
field() { curl -fs "http://127.0.0.1:$aport/status" | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
writes() { curl -fs "http://127.0.0.1:$aport/metrics" | awk '/^shoal_writes_total/ {print $2}'; }
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v1" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v1" ] || { cat agent.log; fail "v1 not applied"; }
[ "$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' kittenapi_kittenapi)" = 2 ] || fail "not prod's kittenapi"
sleep 2
before=$(all_versions) w0=$(writes)
# only staging changes
( cd src && sed -i 's/replicas: 1/replicas: 3/' clusters/staging/stacks/kittenapi/kittenapi.yml &&
  git add -A && git commit -qm "staging only" && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
for _ in $(seq 1 100); do [ "$(field commit_seen)" = "$v2" ] && break; sleep 0.1; done
[ "$(field commit_seen)" = "$v2" ] || fail "v2 not seen"
sleep 3
[ "$before" = "$(all_versions)" ] || fail "a staging-only commit changed the prod swarm"
[ "$(writes)" = "$w0" ] || fail "a staging-only commit made $(( $(writes) - w0 )) writes"
# prod changes
( cd src && sed -i 's/replicas: 2/replicas: 1/' clusters/prod/stacks/kittenapi/kittenapi.yml &&
  git add -A && git commit -qm "prod" && git push -q ../origin.git main ) || fail "push v3"
v3=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v3" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v3" ] || { cat agent.log; fail "v3 not applied"; }
[ "$(docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' kittenapi_kittenapi)" = 1 ] || fail "v3 content"
echo "ok: staging-only commit: 0 writes; prod commit applied"

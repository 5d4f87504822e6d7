# The webhook forms besides GitHub's (t-agent): Gitea/Forgejo (hex HMAC in
# X-Gitea-Signature / X-Forgejo-Signature) and GitLab (X-Gitlab-Token);
# wrong ones get 401 and no fetch; right ones apply a pushed commit with the
# poll at 10 min.  And --drift warn (a second agent: every drift check
# fetches too): a hand-made change is reported, counted nowhere as a
# correction, and left as it is.
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID
label_node_for_template
# quick rolling updates: this is about webhooks, not the template
SRC_PREP='sed -i "s/^    image: \${KITTENAPI_IMAGE}/&\n    init: true\n    stop_grace_period: 1s/" stacks/kittenapi/kittenapi.yml' src_init
aport=$((GIT_PORT + 1))
printf 'h00k-secret' > hook.secret
"$SHOAL" agent --repo "$GIT_URL" --listen 127.0.0.1:$aport --cache "$T/cache.git" --webhook-secret-file hook.secret \
	--run-dir "$T/run" --interval 10m --lease-ttl 20s > agent.log 2>&1 &
apid=$!
trap 'kill $hpid $apid 2>/dev/null' EXIT
field() { curl -fs "http://127.0.0.1:$aport/status" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"] or '')" 2>/dev/null; }
metric() { curl -fs "http://127.0.0.1:$aport/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
wait_applied() { for _ in $(seq 1 $((${2:-60} * 10))); do [ "$(field commit_applied)" = "$1" ] && return 0; sleep 0.1; done; return 1; }
post() { # header value -> HTTP code
	curl -s -o /dev/null -w '%{http_code}' -X POST -H "$1: $2" -d "$body" "http://127.0.0.1:$aport/webhook"
}
push() { ( cd src && printf 'KITTENAPI_IMAGE=%s\n' "$1" > stacks/kittenapi/vars.env && git add -A &&
	   git commit -qm "$1" && git push -q ../origin.git main ) || fail "push $1"; }
wait_applied "$(git -C src rev-parse HEAD)" || fail "v1 not applied"
body='{"ref":"refs/heads/main"}'
hmac=$(printf '%s' "$body" | openssl dgst -sha256 -hmac h00k-secret | sed 's/.* //')
# Gitea
push shoal-lab/busybox:latest
v2=$(git -C src rev-parse HEAD)
[ "$(post X-Gitea-Signature "${hmac%?}0")" = 401 ] || fail "bad Gitea signature accepted"
[ "$(post X-Forgejo-Signature "0$hmac")" = 401 ] || fail "bad Forgejo signature accepted"
sleep 1
[ "$(field commit_seen)" != "$v2" ] || fail "a refused webhook triggered a fetch"
[ "$(post X-Gitea-Signature "$hmac")" = 202 ] || fail "good Gitea signature refused"
wait_applied "$v2" || fail "Gitea webhook: v2 not applied"
# Forgejo
push "$LAB_IMAGE"
v3=$(git -C src rev-parse HEAD)
[ "$(post X-Forgejo-Signature "$hmac")" = 202 ] || fail "good Forgejo signature refused"
wait_applied "$v3" || fail "Forgejo webhook: v3 not applied"
# GitLab
push shoal-lab/busybox:latest
v4=$(git -C src rev-parse HEAD)
[ "$(post X-Gitlab-Token h00k-secreT)" = 401 ] || fail "wrong GitLab token accepted"
[ "$(post X-Gitlab-Token h00k-secre)" = 401 ] || fail "GitLab token prefix accepted"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "$body" "http://127.0.0.1:$aport/webhook")" = 401 ] ||
	fail "unsigned webhook accepted"
[ "$(post X-Gitlab-Token h00k-secret)" = 202 ] || fail "GitLab token refused"
wait_applied "$v4" || fail "GitLab webhook: v4 not applied"
[ "$(metric 'shoal_webhooks_total{result="rejected"}')" = 5 ] || fail "rejected webhooks: $(metric 'shoal_webhooks_total{result="rejected"}')"
# --drift warn: reported, not reverted
kill $apid; wait $apid
"$SHOAL" agent --repo "$GIT_URL" --listen 127.0.0.1:$aport --cache "$T/cache.git" --webhook-secret-file hook.secret \
	--run-dir "$T/run" --interval 10m --drift warn --drift-interval 2s > agent2.log 2>&1 &
apid=$!
# (it takes the lease over when the first one's, 20 s, runs out)
wait_applied "$v4" 120 || fail "second agent: v4 not applied"
for _ in $(seq 1 300); do
	[ "$(docker service inspect -f '{{.UpdateStatus.State}}' kittenapi_kittenapi)" = completed ] && break; sleep 0.2
done
docker service update -d --env-add HAND=made kittenapi_kittenapi >/dev/null
for _ in $(seq 1 100); do grep -q 'not corrected' agent2.log && break; sleep 0.1; done
grep -q 'drift: .*not corrected' agent2.log || { tail agent2.log; fail "drift not reported"; }
sleep 3
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Env}}' kittenapi_kittenapi | grep -q HAND=made ||
	fail "--drift warn reverted the change"
[ "$(metric shoal_drift_corrections_total)" = 0 ] || fail "corrections counted with --drift warn"
grep -q 'h00k-secret' agent.log agent2.log && fail "the webhook secret reached the log"
echo "ok: Gitea, Forgejo, GitLab webhooks verified (5 refused); --drift warn reports and leaves the change"

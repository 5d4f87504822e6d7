# A changed --repo (issue 18, item 3): one cache directory, two
# repositories one after the other.  The mirror fetches the --repo it is
# given, not the remote it was made with; a commit of the first repository
# is never deployed for the second (when the second has no such branch
# the agent fails and the swarm stays as it is).
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID
trap 'kill $hpid 2>/dev/null' EXIT
url_b=${GIT_URL%/origin.git}/other.git
git init -q --bare other.git
repo() { # dir service
	mkdir -p "$1/stacks/app"
	( cd "$1" && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
	printf 'version: "3.8"\nservices:\n  %s:\n    image: %s\n    stop_grace_period: 2s\n    deploy: {replicas: 1}\n' "$2" "$LAB_IMAGE" > "$1/stacks/app/app.yml"
	( cd "$1" && git add -A && git commit -qm "$2" ) || fail "commit $1"
}
once() { "$SHOAL" agent --once --repo "$1" --cache "$T/cache.git" --run-dir "$T/run" --converge-timeout 300s --lease-ttl 3s >> agent.log 2>&1; }
label() { docker service inspect -f '{{index .Spec.Labels "io.shoal.commit"}}' "$1" 2>/dev/null; }
repo a alpha
( cd a && git push -q ../origin.git main ) || fail "push a"
once "$GIT_URL" || { cat agent.log; fail "repository a not applied"; }
[ "$(label app_alpha)" = "$(git -C a rev-parse HEAD)" ] || fail "app_alpha not at a's commit"
# b has no branch main yet: nothing of a may be deployed in its name
repo b beta
( cd b && git push -q ../other.git main:trunk ) || fail "push b trunk"
once "$url_b" && fail "an agent for b without branch main succeeded"
grep -q "branch main not found in $url_b" agent.log || { tail agent.log; fail "no error for b's missing branch"; }
grep -q "mirrored another repository" agent.log || fail "the re-pointed cache was not logged"
[ "$(label app_alpha)" = "$(git -C a rev-parse HEAD)" ] || fail "the swarm changed"
# b's main: deployed from b
( cd b && git push -q ../other.git main ) || fail "push b main"
once "$url_b" || { tail agent.log; fail "repository b not applied"; }
[ "$(label app_beta)" = "$(git -C b rev-parse HEAD)" ] || { tail agent.log; fail "app_beta not at b's commit"; }
docker service inspect app_alpha >/dev/null 2>&1 && fail "a's service is still there"
[ "$(git --git-dir="$T/cache.git" config remote.origin.url)" = "$url_b" ] || fail "the cache still points elsewhere"
echo "ok: one cache, two repositories: each --repo fetched and deployed, never the other's commits"

# Pull-request review as repo-template's workflows run it, for GitHub,
# Gitea and GitLab (sourced by t-review, REVIEW_MODE=host: the built shoal
# on this machine, and t-review-image, REVIEW_MODE=image: each job in the
# shoal image, started the way its runner starts it).
#
# A real smart-HTTP Git server (lighttpd + git http-backend, basic auth
# with each forge's CI credentials) holds repo-template on main and a pull
# request of two pushes: the first changes kittenapi (replicas and its
# sealed MONGODB_URI), the second adds an invalid file.  No forge can run
# offline here: each forge's API is tests/lab/forge-api.py, a recording
# server checking every request against the forge's documented API.
# After the two pushes each forge holds one comment of shoal's (created,
# then edited, found again past the first page of others' comments), two
# statuses (success, then failure with the error count and the error at
# file:line:column), no violation of its API, no secret and no token.
. "$TOP/tests/lab/lib.sh"
# Debian's python3 (python3-yaml) when there is one: a version manager's shim costs seconds a call
PY=$(command -v /usr/bin/python3 || command -v python3)
"$PY" -c 'import yaml' 2>/dev/null || fail "python3-yaml missing: tests/lab/ci-runner.py reads the workflows with it (apt-get install python3-yaml)"
echo "NOTE: no forge can run offline here: the forges' APIs are tests/lab/forge-api.py, a recording server that checks every request against each forge's documented API; Git is served for real (lighttpd, git http-backend)"
mode=${REVIEW_MODE:-host}
in_ns() { nsenter --net=/run/netns/"$LAB_NS" "$@"; }
pids=
trap 'kill $pids 2>/dev/null' EXIT

if [ "$mode" = image ]; then
	agent_image; case $? in 0) ;; 77) fail "debootstrap or socat missing: the image cannot be built" ;; *) fail "no shoal image" ;; esac
	image=shoal:lab
	# the manual page is in the image, the one its shoal makes
	docker run --rm --entrypoint /bin/cat "$image" /usr/local/share/man/man1/shoal.1 > image-shoal.1 &&
		docker run --rm "$image" help --man | cmp -s - image-shoal.1 || fail "no shoal(1) in the image, or another one"
	echo "ok: the image carries shoal(1) at /usr/local/share/man/man1"
fi

TOK_GH=ghs_$(openssl rand -hex 16) TOK_GT=$(openssl rand -hex 20)  # a Gitea job token: 40 hex digits
TOK_GL=glpat-$(openssl rand -hex 12) TOK_JOB=glcbt-$(openssl rand -hex 12)
SECRET=Pr1v4te-$(openssl rand -hex 8)

# each forge's Git server (its own CI credentials), inside the lab
# namespace: the jobs' containers use the host network
T0=$T
git_for() { # forge user token -> SERVER_<forge>
	T=$T0/git-$1
	mkdir -p "$T/acme" && git init -q --bare "$T/acme/infra.git" || fail "bare repository for $1"
	GIT_NETNS=$LAB_NS GIT_BIND=127.0.0.1 GIT_AUTH="$2:$3" git_server_start || fail "$1's git server did not start"
	pids="$pids $HTTPD_PID"
	printf -v "SERVER_$1" '%s' "http://127.0.0.1:$GIT_PORT/git"
	T=$T0
}
git_for github x-access-token "$TOK_GH"
git_for gitea x-access-token "$TOK_GT"
git_for gitlab gitlab-ci-token "$TOK_JOB"
# shoal must authenticate: a fetch without credentials is refused
in_ns env GIT_TERMINAL_PROMPT=0 git ls-remote "$SERVER_github/acme/infra.git" >/dev/null 2>&1 && fail "the git server lets anyone in"

# the repository and the pull request's two pushes
MAKE_REPO_NO_LABELS=1 make_repo src
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
  git add -A && git commit -qm v1 ) || fail "commit v1"
for g in github gitea gitlab; do git -C src push -q "$T/git-$g/acme/infra.git" main || fail "push main"; done
BASE=$(git -C src rev-parse HEAD)
( cd src && git checkout -qb change &&
  sed -i 's/replicas: 2/replicas: 3/' stacks/kittenapi/kittenapi.yml &&
  printf 'mongodb://kittenapi:%s@mongo01:27017/kittenapi' "$SECRET" |
	"$SHOAL" seal --recipient @keys/recipients --stack kittenapi --name mongodb-uri > stacks/kittenapi/mongodb-uri.sealed &&
  git commit -qam "kittenapi: 3 replicas, new database password" ) || fail "commit A"
HEAD1=$(git -C src rev-parse HEAD)
( cd src && printf 'version: "3.8"\nservices:\n  kittenapi:\n    deploy:\n      replicas: -1\n' > stacks/kittenapi/zz-broken.yml &&
  git add -A && git commit -qm "an invalid file" ) || fail "commit B"
HEAD2=$(git -C src rev-parse HEAD)
push_pr() { # commit: the pull request's ref as each forge keeps it
	local g
	for g in github gitea gitlab; do
		git -C src push -qf "$T/git-$g/acme/infra.git" "$1:refs/pull/1/head" "$1:refs/merge-requests/1/head" || fail "push $1"
	done
}

# the recording APIs
start_api() { # forge port token [job token]
	in_ns "$PY" "$TOP/tests/lab/forge-api.py" --forge "$1" --listen "127.0.0.1:$2" --token "$3" \
		${4:+--job-token "$4"} --repo "$([ "$1" = gitlab ] && echo 42 || echo acme/infra)" --pr 1 --seed "$5" \
		--log "api-$1.log" > "api-$1.out" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 1 100); do in_ns curl -fs "http://127.0.0.1:$2/__state" >/dev/null && return 0; sleep 0.1; done
	fail "the $1 API stand-in did not start: $(cat "api-$1.out")"
}
P_GH=$(lab_port); P_GT=$((P_GH + 1)) P_GL=$((P_GH + 2))
start_api github "$P_GH" "$TOK_GH" "" 150  # two pages of others' comments first
start_api gitea "$P_GT" "$TOK_GT" "" 30
start_api gitlab "$P_GL" "$TOK_GL" "$TOK_JOB" 120
state() { in_ns curl -fs "http://127.0.0.1:$1/__state"; }

# a pull-request job of each forge, with the variables its CI sets
event() { # head -> event.json as GitHub and Gitea send it
	printf '{"action":"synchronize","number":1,"pull_request":{"number":1,"base":{"ref":"main","sha":"%s"},"head":{"ref":"change","sha":"%s"}}}\n' "$BASE" "$1" > event.json
}
runner() { # forge workflow head [extra ci-runner args]
	local f=$1 wf=$2 head=$3; shift 3
	local common=(--forge "$f" --workflow "src/$wf" --mode "$mode")
	if [ "$mode" = image ]; then common+=(--image "$image"); else common+=(--shoal-dir "$(dirname "$SHOAL")"); fi
	case $f in
	github|gitea)
		event "$head"
		local api=http://127.0.0.1:$P_GH tokvar=github.token tok=$TOK_GH more=() server=$SERVER_github
		[ "$f" = gitea ] && api=http://127.0.0.1:$P_GT/api/v1 tokvar=secrets.GITEA_TOKEN tok=$TOK_GT more=(--env GITEA_ACTIONS=true) server=$SERVER_gitea
		in_ns "$PY" "$TOP/tests/lab/ci-runner.py" "${common[@]}" --event "$PWD/event.json" \
			--env GITHUB_ACTIONS=true --env CI=true --env GITHUB_SERVER_URL="$server" --env GITHUB_API_URL="$api" \
			--env GITHUB_REPOSITORY=acme/infra --env GITHUB_EVENT_NAME=pull_request --env GITHUB_RUN_ID=4242 \
			--env GITHUB_RUN_NUMBER=7 --env GITHUB_SHA=0000000000000000000000000000000000000000 "${more[@]}" \
			--context "$tokvar=$tok" --context vars.SHOAL_IMAGE="${image:-}" "$@" ;;
	gitlab)
		in_ns "$PY" "$TOP/tests/lab/ci-runner.py" "${common[@]}" \
			--env GITLAB_CI=true --env CI=true --env CI_SERVER_URL="$SERVER_gitlab" --env CI_API_V4_URL="http://127.0.0.1:$P_GL/api/v4" \
			--env CI_PROJECT_ID=42 --env CI_PROJECT_PATH=acme/infra --env CI_PIPELINE_SOURCE=merge_request_event \
			--env CI_MERGE_REQUEST_IID=1 --env CI_MERGE_REQUEST_DIFF_BASE_SHA="$BASE" --env CI_COMMIT_SHA="$head" \
			--env CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main --env CI_JOB_URL="http://gitlab.invalid/acme/infra/-/jobs/9" \
			--env CI_JOB_TOKEN="$TOK_JOB" --env SHOAL_IMAGE="${image:-shoal}" "$@" ;;
	esac
}
WF_github=.github/workflows/shoal-review.yml WF_gitea=.gitea/workflows/shoal-review.yml WF_gitlab=.gitlab-ci.yml

review() { # forge head expected-exit label [extra]
	local f=$1 head=$2 want=$3 label=$4 wf; shift 4
	wf=WF_$f
	local extra=()
	[ "$f" = gitlab ] && extra=(--env GITLAB_API_TOKEN="$TOK_GL")
	# host runs get the private key's path in their environment: review must not read it
	[ "$mode" = host ] && extra+=(--env SHOAL_KEY_FILE="$SHOAL_KEY_FILE")
	runner "$f" "${!wf}" "$head" "${extra[@]}" "$@" > "run-$f-$label.log" 2>&1
	local rc=$?
	[ $rc = "$want" ] || { cat "run-$f-$label.log"; fail "$f $label: the job exited $rc, expected $want"; }
	grep -q -e "$TOK_GH" -e "$TOK_GT" -e "$TOK_GL" -e "$TOK_JOB" -e "$SECRET" "run-$f-$label.log" &&
		fail "$f $label: a token or the sealed value in the job's output"
	echo "ok: $f $label: job exited $rc"
}

check() { # forge port
	state "$2" > "state-$1.json" || fail "$1: no state"
	"$PY" - "$1" "state-$1.json" "$SECRET" "$HEAD1" "$HEAD2" <<'PY' || fail "$1: what the forge recorded"
import json, re, sys
forge, path, secret, h1, h2 = sys.argv[1:]
s = json.load(open(path))
assert not s["violations"], "API violations: %s" % s["violations"]
raw = json.dumps(s)
assert secret not in raw, "the sealed value reached the forge"
st = s["statuses"]
assert [x["sha"] for x in st] == [h1, h2], "statuses on %s" % [x["sha"] for x in st]
ok, bad = ("success", "failed") if forge == "gitlab" else ("success", "failure")
assert [x["state"] for x in st] == [ok, bad], [x["state"] for x in st]
assert all(x["name"] == "shoal/review" for x in st)
assert st[0]["description"].startswith("valid; 1 stack changed"), st[0]["description"]
d = st[1]["description"]
assert re.match(r"^1 error: stacks/kittenapi/zz-broken\.yml:5:\d+: ", d), d
assert len(d) <= 140, len(d)
mine = [c for c in s["comments"] if "<!-- shoal-review -->" in c["body"]]
assert len(mine) == 1, "%d comments of shoal's" % len(mine)
c = mine[0]
assert c["edits"] == 1, "edits: %s" % c["edits"]
assert "1 error" in c["body"] and "stacks/kittenapi/zz-broken.yml:5:" in c["body"], c["body"][:400]
# the status and the comment link the CI run
run = st[1]["target_url"]
assert run and run.endswith(("/actions/runs/4242", "/actions/runs/7", "/-/jobs/9")), run
assert "[The run](%s)" % run in c["body"], "no link to the run in the comment"
reqs = [(r["method"], r["path"], r["query"]) for r in s["requests"]]
posts = [r for r in reqs if r[0] == "POST" and "/statuses/" not in r[1]]
first = [r["body"] for r in s["requests"] if r["method"] == "POST" and "/statuses/" not in r["path"]][0]
# push 1: the plan shows the sealed value changed, as a fingerprint
assert "MONGODB_URI=(sealed " in first and "Mode.Replicated.Replicas" in first, first[:600]
edits = [r for r in reqs if r[0] in ("PATCH", "PUT")]
assert len(posts) == 1 and len(edits) == 1, (posts, edits)
if forge in ("github", "gitlab"):
    assert any("page=2" in r[2] for r in reqs if r[0] == "GET"), "the second page of comments was not read"
assert all(r["auth"] == "ok" for r in s["requests"]), "a request without valid authentication"
print("ok: %s: statuses %s, comment %d created then edited, %d requests, no violation"
      % (forge, [x["state"] for x in st], c["id"], len(reqs)))
PY
}

for f in github gitea gitlab; do
	start=$(date +%s.%N)
	push_pr "$HEAD1"
	review "$f" "$HEAD1" 0 push1
	push_pr "$HEAD2"
	review "$f" "$HEAD2" 1 push2
	echo "$f: two pushes reviewed in $(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo '?') s"
done
check github "$P_GH"
check gitea "$P_GT"
check gitlab "$P_GL"
grep -h "shoal review:" run-github-push2.log

# GitLab with its job token alone: said at once, nothing sent
n=$(state "$P_GL" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
runner gitlab "$WF_gitlab" "$HEAD2" > run-gitlab-jobtoken.log 2>&1
rc=$?
[ $rc = 64 ] || { cat run-gitlab-jobtoken.log; fail "GitLab, CI_JOB_TOKEN only: exit $rc, expected 64"; }
grep -q "GITLAB_API_TOKEN" run-gitlab-jobtoken.log || fail "GitLab, CI_JOB_TOKEN only: the message does not say what to set"
[ "$(state "$P_GL" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')" = "$n" ] ||
	fail "GitLab, CI_JOB_TOKEN only: requests were sent"
echo "ok: gitlab with CI_JOB_TOKEN only: exit 64, nothing sent"

# the image as it is, without GitLab's entrypoint override, cannot run a job
if [ "$mode" = image ]; then
	sed '/entrypoint:/d' src/.gitlab-ci.yml > src/no-entrypoint.yml
	runner gitlab no-entrypoint.yml "$HEAD2" --env GITLAB_API_TOKEN="$TOK_GL" > run-gitlab-noep.log 2>&1 &&
		fail "the image ran a GitLab job without entrypoint: [\"\"]"
	grep -q "unknown command 'sh'" run-gitlab-noep.log || { cat run-gitlab-noep.log; fail "without the entrypoint override: another failure"; }
	echo "ok: gitlab without entrypoint [\"\"]: the image's shoal refuses \"sh\" (the override is needed)"
fi

# --dry-run: what would be sent, the token masked; nothing sent
n=$(state "$P_GH" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
event "$HEAD2"
if [ "$mode" = image ]; then
	in_ns docker run --rm --network host -v "$PWD/event.json:/e.json:ro" -e GITHUB_ACTIONS=true -e GITHUB_SERVER_URL="$SERVER_github" \
		-e GITHUB_API_URL="http://127.0.0.1:$P_GH" -e GITHUB_REPOSITORY=acme/infra -e GITHUB_EVENT_NAME=pull_request \
		-e GITHUB_EVENT_PATH=/e.json -e GITHUB_TOKEN="$TOK_GH" "$image" review --dry-run > dry.out 2>&1
else
	in_ns env -i ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} PATH=/usr/bin:/bin GITHUB_ACTIONS=true GITHUB_SERVER_URL="$SERVER_github" GITHUB_API_URL="http://127.0.0.1:$P_GH" \
		GITHUB_REPOSITORY=acme/infra GITHUB_EVENT_NAME=pull_request GITHUB_EVENT_PATH="$PWD/event.json" \
		GITHUB_TOKEN="$TOK_GH" "$SHOAL" review --dry-run > dry.out 2>&1
fi
rc=$?
[ $rc = 1 ] || { cat dry.out; fail "--dry-run: exit $rc, expected 1 (the head has an error)"; }
grep -q "^POST http://127.0.0.1:$P_GH/repos/acme/infra/statuses/$HEAD2" dry.out || { cat dry.out; fail "--dry-run: no status request shown"; }
grep -q "^Authorization: Bearer (token hidden)" dry.out || fail "--dry-run: the authorization header is not shown masked"
grep -q "$TOK_GH" dry.out && fail "--dry-run: the token is shown"
[ "$(state "$P_GH" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')" = "$n" ] ||
	fail "--dry-run sent requests"
echo "ok: --dry-run shows the requests, masks the token, sends nothing"
true

# Sealed values never leave shoal in the clear (issue 15, items 1 and 2).
# A real Git repository where a sealed environment value changes between
# two commits (also: a key sealed at base and written out at head and the
# other way round, a list-form item, a service renamed, a value holding
# {{ }}): `plan --base/--head` in text, json and markdown (--key and
# SHOAL_KEY_FILE), validate, apply, the engine plan and stack deploy never
# print either plaintext, and the value with braces reaches the container
# as it is.  Then the real agent against a Git server, the lab engine and a
# notification receiver, given a commit with `- "=${sealed:...}"`, one with
# `{{${sealed:...}}}` (refused: nothing written for the stack) and one
# whose templated config makes the node quote the plaintext in the task's
# error (scrubbed: /status, the log and the notification name it
# "(sealed ...)").  Every output, log and file of the scenario is grepped
# for the plaintexts.
. "$TOP/tests/lab/lib.sh"
OLD=PLAINTEXT-canary-7f3a-old
NEW=PLAINTEXT-canary-7f3a-new
BR='br{{ace}}s-canary-7f3a'
leaks() { # files...: none may hold a plaintext
	grep -l -a 'canary-7f3a' "$@" 2>/dev/null && fail "a plaintext in: $(grep -l -a 'canary-7f3a' "$@" | tr '\n' ' ')"
	true
}
# what a failure shows, a plaintext in it masked: not even the test's own
# output may carry one
show() { sed 's/[^ "=]*canary-7f3a[^ ")]*/<PLAINTEXT>/g' "$@"; }
make_repo repo
key=$SHOAL_KEY_FILE
rm -rf repo/stacks/traefik repo/stacks/mongo repo/stacks/kittenapi
mkdir repo/stacks/app
printf '%s' "$OLD" | seal_into repo app dbpw repo/stacks/app/dbpw.sealed
printf '%s' "$BR" | seal_into repo app braces repo/stacks/app/braces.sealed
cat > repo/stacks/app/app.yml <<YML
services:
  web:
    image: $LAB_IMAGE
    environment:
      DB_PASSWORD: \${sealed:dbpw.sealed}
      SWITCH: \${sealed:dbpw.sealed}
      LATE: written-out
      BRACES: "{\${sealed:braces.sealed}}"
  old:
    image: $LAB_IMAGE
    environment:
      - "DB_PW=\${sealed:dbpw.sealed}"
YML
git -C repo init -q -b main && git -C repo config user.email ci@example.invalid && git -C repo config user.name ci
git -C repo add -A && git -C repo commit -qm base || fail "commit base"
A=$(git -C repo rev-parse HEAD)
# head: a new value; SWITCH written out, LATE sealed; old renamed
printf '%s' "$NEW" | seal_into repo app dbpw repo/stacks/app/dbpw.sealed
sed -i 's|      SWITCH: .*|      SWITCH: written-out|; s|      LATE: .*|      LATE: ${sealed:dbpw.sealed}|; s|^  old:|  renamed:|' \
	repo/stacks/app/app.yml
git -C repo add -A && git -C repo commit -qm head || fail "commit head"
B=$(git -C repo rev-parse HEAD)

# 1. the offline plan, every format, the key by --key, by SHOAL_KEY_FILE, none
for f in text json markdown; do
	env -u SHOAL_KEY_FILE "$SHOAL" plan --key "$key" --repo repo --base "$A" --head "$B" --format $f > plan-key.$f 2>&1
	[ $? = 2 ] || { show plan-key.$f; fail "plan --key --format $f: exit not 2"; }
	"$SHOAL" plan --repo repo --base "$A" --head "$B" --format $f > plan-env.$f 2>&1
	[ $? = 2 ] || fail "plan (SHOAL_KEY_FILE) --format $f: exit not 2"
	env -u SHOAL_KEY_FILE "$SHOAL" plan --repo repo --base "$A" --head "$B" --format $f > plan-nokey.$f 2>&1
	[ $? = 2 ] || fail "plan without key --format $f: exit not 2"
done
leaks plan-*
show plan-key.text
for k in DB_PASSWORD SWITCH LATE; do
	grep -Eq "$k=\(sealed [0-9a-f]{12}\)\".*→.*$k=\(sealed [0-9a-f]{12}\)" plan-key.text || fail "$k not redacted on both sides"
done
cmp -s plan-key.json plan-env.json || fail "--key and SHOAL_KEY_FILE plans differ"
grep -q '`app_renamed`' plan-key.markdown || fail "renamed service not in the markdown"

# 2. validate, apply, the engine plan, stack deploy
"$SHOAL" validate --repo repo --rev "$B" > validate.txt 2>&1 || { show validate.txt; fail "validate head"; }
"$SHOAL" apply --repo repo --rev "$A" --stack app > apply-a.txt 2>&1 || { show apply-a.txt; fail "apply base"; }
"$SHOAL" plan --repo repo --rev "$B" --stack app > eplan.txt 2>&1; [ $? = 2 ] || { show eplan.txt; fail "engine plan exit"; }
"$SHOAL" plan --repo repo --rev "$B" --stack app --format json > eplan.json 2>&1
grep -Eq 'DB_PASSWORD=\(sealed [0-9a-f]{12}\)".*→.*DB_PASSWORD=\(sealed [0-9a-f]{12}\)' eplan.txt || { show eplan.txt; fail "engine plan not redacted"; }
git -C repo show "$B:stacks/app/app.yml" > head.yml && git -C repo show "$B:stacks/app/dbpw.sealed" > dbpw.sealed &&
	git -C repo show "$B:stacks/app/braces.sealed" > braces.sealed || fail "head files"
"$SHOAL" stack deploy --resolve-image never -c head.yml app > deploy.txt 2>&1 || { show deploy.txt; fail "stack deploy"; }
"$SHOAL" apply --repo repo --rev "$B" --stack app > apply-b.txt 2>&1 || { show apply-b.txt; fail "apply head"; }
leaks validate.txt apply-*.txt eplan.* deploy.txt
# the value with braces reaches the container as written
braces=
for _ in $(seq 1 100); do
	for c in $(docker ps -q --filter label=com.docker.swarm.service.name=app_web); do
		docker exec "$c" env 2>/dev/null | grep -qxF "BRACES={$BR}" && braces=1
	done
	[ -n "$braces" ] && break
	sleep 0.3
done
[ -n "$braces" ] || fail "the value with braces did not reach a container as written"

# 3. what the engine would quote or expand is refused before any write
bad_commit() { # name, then a line added to web's environment
	git -C repo checkout -q "$B" && sed -i "s|^      LATE: .*|&\n$2|" repo/stacks/app/app.yml &&
		git -C repo commit -qam "$1" || fail "commit $1"
}
before=$(all_versions)
bad_commit names '      "": ${sealed:dbpw.sealed}'
"$SHOAL" validate --repo repo --rev HEAD > v-names.txt 2>&1 && fail "an empty name validated"
grep -q 'app.yml:8:7: error: service web: environment: a variable with an empty name' v-names.txt || { show v-names.txt; fail "empty name message"; }
"$SHOAL" apply --repo repo --rev HEAD --stack app > a-names.txt 2>&1 && fail "an empty name applied"
bad_commit template '      T: "{{${sealed:dbpw.sealed}}}"'
"$SHOAL" validate --repo repo --rev HEAD > v-template.txt 2>&1 && fail "a sealed template validated"
grep -q 'app.yml:8:10: error: services.web.environment.T: a value holding ${sealed:...} cannot use templates' v-template.txt ||
	{ show v-template.txt; fail "template message"; }
"$SHOAL" apply --repo repo --rev HEAD --stack app > a-template.txt 2>&1 && fail "a sealed template applied"
[ "$before" = "$(all_versions)" ] || fail "a refused commit wrote something"
leaks v-*.txt a-*.txt

# 4. the agent: refused commits, and a task error quoting the plaintext
git_server_start; case $? in 0) ;; 77) echo "SKIP: lighttpd missing: agent part NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
port=$GIT_PORT; aport=$((port + 1)); nport=$((port + 2)); hpid=$HTTPD_PID
git -C repo checkout -q "$B" && git -C repo push -q "$T/origin.git" HEAD:refs/heads/main || fail "push v1"
notify_receiver_start $nport notes.txt || fail "the notification receiver did not start"
npid=$NOTIFY_PID
trap 'kill $hpid $apid $npid 2>/dev/null' EXIT
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport --cache "$T/cache.git" \
	--converge-timeout 30s --notify-url "http://127.0.0.1:$nport/hook" > agent.log 2>&1 &
apid=$!
api() { curl -fs "http://127.0.0.1:$aport$1"; }
field() { api /status | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
snap() { api /status > "status-$1.json"; api /metrics > "metrics-$1.txt"; "$SHOAL" status --agent "http://127.0.0.1:$aport" > "table-$1.txt"; }
wait_field() { # field value seconds
	for _ in $(seq 1 $(($3 * 10))); do [ "$(field "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
wait_field commit_applied "$B" 60 || { show agent.log; fail "v1 not applied"; }
before=$(all_versions)
snap v1
push() { # name; stdin: YAML appended to app.yml at head
	git -C repo checkout -q -B main "$B" && cat >> repo/stacks/app/app.yml &&
		git -C repo add -A && git -C repo commit -qm "$1" && git -C repo push -qf "$T/origin.git" HEAD:refs/heads/main ||
		fail "push $1"
	git -C repo rev-parse HEAD
}
# the issue's two commits: refused, nothing of the stack written
v2=$(push names <<YML
  bad:
    image: $LAB_IMAGE
    environment:
      - "=\${sealed:dbpw.sealed}"
YML
)
wait_field commit_failed "$v2" 60 || { show agent.log; fail "v2 not failed"; }
snap v2
[ "$before" = "$(all_versions)" ] || fail "v2 wrote something"
v3=$(push template <<YML
  bad:
    image: $LAB_IMAGE
    environment:
      A: "{{\${sealed:dbpw.sealed}}}"
YML
)
wait_field commit_failed "$v3" 60 || { show agent.log; fail "v3 not failed"; }
snap v3
[ "$before" = "$(all_versions)" ] || fail "v3 wrote something"
python3 - status-v3.json <<'PY' || fail "stack error in /status"
import json, sys
s = json.load(open(sys.argv[1]))
assert "invalid at this commit" in s["stacks"]["app"]["error"], s
PY
# a templated config (a plain file of the repository) that makes the node
# quote the sealed value in the task's error: the agent reports it when
# the service does not converge, the template's error withheld (a template
# can transform what it quotes: t-sec-template)
printf '{{ secret (env "DB_PASSWORD") }}\n' > repo/stacks/app/leak.tmpl
v4=$(push leak <<YML
  leak:
    image: $LAB_IMAGE
    environment:
      DB_PASSWORD: \${sealed:dbpw.sealed}
    configs:
      - source: leak
        target: /leak
configs:
  leak:
    file: leak.tmpl
    template_driver: golang
YML
)
wait_field commit_failed "$v4" 90 || { show agent.log; fail "v4 not failed"; }
snap v4
withheld="failed to expand templated config [a-z0-9]*: the template's error is withheld"
field last_error | grep -q "$withheld" ||
	{ field last_error | show; fail "the task's error is not in last_error, scrubbed"; }
grep -q "$withheld" agent.log || fail "the task's error is not in the log, scrubbed"
for _ in $(seq 1 30); do [ "$(grep -c "\"text\"" notes.txt)" -ge 3 ] && break; sleep 0.1; done
[ "$(grep -c "\"text\"" notes.txt)" = 3 ] || { show notes.txt; fail "one notification per failed commit"; }
grep -q "$withheld" notes.txt || fail "the notification does not carry the scrubbed error"
kill $apid; wait $apid 2>/dev/null
leaks status-* metrics-* table-* agent.log notes.txt
# and nothing anywhere in this scenario's files (repositories included:
# only sealed text there)
grep -rl -a 'canary-7f3a' "$T" && fail "a plaintext in the scenario's files"
true

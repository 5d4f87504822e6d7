# A config template can read the task's environment and secrets (env,
# secret) and turn them into any text before it fails: the node's error
# then quotes that text ("secret target <text> not found").  Scrubbing by
# value cannot catch a plaintext sliced by a byte, hex-encoded, or an
# external secret shoal never read.  The real agent against a Git server,
# the lab engine and a notification receiver: three commits, each with a
# service whose templated config makes the node fail the task quoting a
# transformed secret (a sealed environment value less its first byte, the
# same in hex, an operator's external secret less its first byte).  The
# template's error is withheld in the log, /status, /metrics and the
# notification, which still name the config that failed.
. "$TOP/tests/lab/lib.sh"
PW=PLAINTEXT-canary-5e1b-tpl
EXT=EXTERNAL-canary-5e1b-ops
# what each may turn into: less its first byte, hex (an even offset of
# the whole's hex: a part of it is a substring there)
PW_CUT=LAINTEXT-canary-5e1b-tpl
PW_HEX=$(printf 'canary-5e1b' | od -An -tx1 | tr -d ' \n')
EXT_CUT=XTERNAL-canary-5e1b-ops
leaks() { # files...: none may hold a plaintext or its transformations
	local f
	for f in "$@"; do
		grep -a -q -e 'canary-5e1b' -e "$PW_HEX" "$f" 2>/dev/null && fail "a plaintext in $f"
	done
	true
}
show() { sed "s/[^ \"=]*canary-5e1b[^ \")]*/<PLAINTEXT>/g; s/[0-9a-f]*$PW_HEX[0-9a-f]*/<HEX>/g" "$@"; }
make_repo repo
rm -rf repo/stacks/traefik repo/stacks/mongo repo/stacks/kittenapi
mkdir repo/stacks/app
printf '%s' "$PW" | seal_into repo app dbpw repo/stacks/app/dbpw.sealed
printf '%s' "$EXT" | docker secret create ops_token - > /dev/null || fail "external secret"
cat > repo/stacks/app/app.yml <<YML
services:
  web:
    image: $LAB_IMAGE
YML
git -C repo init -q -b main && git -C repo config user.email ci@example.invalid && git -C repo config user.name ci
git -C repo add -A && git -C repo commit -qm base || fail "commit base"
B=$(git -C repo rev-parse HEAD)
git_server_start; case $? in 0) ;; 77) echo "SKIP: lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
port=$GIT_PORT; aport=$((port + 1)); nport=$((port + 2)); hpid=$HTTPD_PID
git -C repo push -q "$T/origin.git" HEAD:refs/heads/main || fail "push v1"
notify_receiver_start $nport notes.txt || fail "the notification receiver did not start"
npid=$NOTIFY_PID
trap 'kill $hpid $apid $npid 2>/dev/null' EXIT
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" \
	--converge-timeout 60s --notify-url "http://127.0.0.1:$nport/hook" > agent.log 2>&1 &
apid=$!
api() { curl -fs -m 5 "http://127.0.0.1:$aport$1"; }
field() { api /status | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
wait_field() { # field value seconds
	for _ in $(seq 1 $(($3 * 10))); do [ "$(field "$1")" = "$2" ] && return 0; sleep 0.1; done
	return 1
}
# the agent is at v1 (whether app_web converged in time on a loaded
# machine does not matter: only the services a commit changes are waited for)
for _ in $(seq 1 1500); do
	[ "$(field commit_applied)" = "$B" ] || [ "$(field commit_failed)" = "$B" ] && break
	kill -0 "$apid" 2>/dev/null || { show agent.log; fail "the agent exited"; }
	sleep 0.1
done
[ "$(field commit_applied)" = "$B" ] || [ "$(field commit_failed)" = "$B" ] || { show agent.log; fail "v1 not taken"; }
n=0
attack() { # name, template[, top-level YAML]; stdin: the service's lines after its image
	n=$((n + 1))
	printf '%s\n' "$2" > "repo/stacks/app/$1.tmpl"
	{ cat <<YML
services:
  $1:
    image: $LAB_IMAGE
YML
	cat
	cat <<YML
    configs:
      - source: $1
        target: /$1
configs:
  $1:
    file: $1.tmpl
    template_driver: golang
YML
	printf '%s' "${3:-}"
	} > "repo/stacks/app/$1.yml"
	git -C repo checkout -q -B main "$B" && git -C repo add -A && git -C repo commit -qm "$1" &&
		git -C repo push -qf "$T/origin.git" HEAD:refs/heads/main || fail "push $1"
	local c
	c=$(git -C repo rev-parse HEAD)
	wait_field commit_failed "$c" 150 || { show agent.log; fail "$1: the commit did not fail"; }
	api /status > "status-$1.json"; api /metrics > "metrics-$1.txt"
	"$SHOAL" status --agent "http://127.0.0.1:$aport" > "table-$1.txt"
	field last_error > "error-$1.txt"
	for _ in $(seq 1 50); do [ "$(grep -c failed notes.txt 2>/dev/null)" -ge $n ] && break; sleep 0.1; done
	[ "$(grep -c failed notes.txt)" -ge $n ] || fail "$1: no notification"
	leaks agent.log notes.txt "status-$1.json" "metrics-$1.txt" "table-$1.txt" "error-$1.txt"
	grep -q "app_$1[: ].*failed to expand templated config [a-z0-9]*: the template's error is withheld" "error-$1.txt" ||
		{ show "error-$1.txt"; fail "$1: last_error does not name the config, its error withheld"; }
}
attack cut '{{ secret (slice (env "DB_PASSWORD") 1) }}' <<'YML'
    environment:
      DB_PASSWORD: ${sealed:dbpw.sealed}
YML
attack hex '{{ secret (printf "%x" (env "DB_PASSWORD")) }}' <<'YML'
    environment:
      DB_PASSWORD: ${sealed:dbpw.sealed}
YML
attack ext '{{ secret (slice (secret "ops_token") 1) }}' 'secrets:
  ops_token:
    external: true
' <<'YML'
    secrets:
      - ops_token
YML
kill $apid; wait $apid 2>/dev/null
leaks agent.log notes.txt
true

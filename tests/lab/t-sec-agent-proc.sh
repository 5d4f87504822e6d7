# What the agent's processes expose (issue 15, items 8 and 13), with the
# real agent run as an unprivileged user (nobody) from a shell that allows
# core dumps:
#  - shoal-agentd, its agent-cycle processes and the shoal commands that
#    hold a key or a plaintext (unseal, seal) are not dumpable (their /proc
#    files belong to root, not to the user they run as) and have a core
#    size limit of 0;
#  - --log-format json: every line of the agent's output is one JSON object
#    with ts, level, msg and fields, through a cycle that applies (one line
#    per operation, with its fields), warns (a compose warning with its
#    file and line), fails (an invalid stack, its error with position), and
#    the HTTP server's own messages (a per-address limit hit).
. "$TOP/tests/lab/lib.sh"
git_server_start; case $? in 0) ;; 77) echo "SKIP: lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid= spid=
trap 'kill $hpid $apid $spid 2>/dev/null' EXIT
command -v setpriv >/dev/null || { echo "SKIP: setpriv missing: NOT TESTED"; exit 77; }
label_node_for_template
src_init
aport=$((GIT_PORT + 1))
nogroup=$(id -gn nobody)
# the docker socket, shared with nobody through its group (a relay)
socat UNIX-LISTEN:"$T/docker.sock",fork,mode=660,group="$nogroup" UNIX-CONNECT:"${DOCKER_HOST#unix://}" 2>/dev/null &
spid=$!
for _ in $(seq 1 50); do [ -S "$T/docker.sock" ] && break; sleep 0.1; done
chmod 711 "$T"
mkdir "$T/nb" && cp "$SHOAL_KEY_FILE" "$T/nb/key" && chown -R nobody:"$nogroup" "$T/nb" && chmod 600 "$T/nb/key"
# the programs where nobody may run them, as an installed system has them
# (a clone in root's home, 0700 on Debian, is not: "Permission denied")
mkdir "$T/bin" && cp "$SHOAL" "$TOP/shoal-agentd" "$T/bin/" || fail "copy the programs"
NBSHOAL=$T/bin/shoal
as_nobody() { # core dumps allowed, as the user
	ulimit -c unlimited
	exec setpriv --reuid nobody --regid "$nogroup" --clear-groups env DOCKER_HOST="unix://$T/docker.sock" "$@"
}
( as_nobody "$NBSHOAL" agent --repo "$GIT_URL" --key "$T/nb/key" --listen 127.0.0.1:$aport --cache "$T/nb/cache.git" \
	--run-dir "$T/nb/run" --interval 1s --drift-interval 1h --log-format json ) > agent.log 2>&1 &
apid=$!
field() { curl -fs "http://127.0.0.1:$aport/status" | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null; }
wait_field() { # field value seconds
	for _ in $(seq 1 $(($3 * 5))); do [ "$(field "$1")" = "$2" ] && return 0; sleep 0.2; done
	return 1
}
# 1. no core dumps: not dumpable, RLIMIT_CORE 0
protected() { # pid what: its /proc is root's though it runs as nobody; core limit 0 0
	local uid owner core
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 2
	owner=$(stat -c %u "/proc/$1/status" 2>/dev/null) || return 2
	core=$(awk '/^Max core file size/ {print $5, $6}' "/proc/$1/limits" 2>/dev/null) || return 2
	[ -n "$uid" ] && [ -n "$core" ] || return 2
	echo "$2: uid $uid, /proc owner $owner, core limit $core"
	[ "$uid" = "$(id -u nobody)" ] || { echo "$2 does not run as nobody"; return 1; }
	[ "$owner" = 0 ] || { echo "$2 is dumpable"; return 1; }
	[ "$core" = "0 0" ] || { echo "$2 may dump core"; return 1; }
}
# a cycle (the first one applies v1: seconds), caught once it has a socket
# open (fetching, or at the engine: well past its first instructions)
seen= until=$((SECONDS + 60))
while [ $SECONDS -lt $until ]; do
	for c in $(pgrep -P "$apid"); do
		grep -q agent-cycle "/proc/$c/cmdline" 2>/dev/null && ls -l "/proc/$c/fd" 2>/dev/null | grep -q 'socket:' || continue
		r=$(protected "$c" agent-cycle); rc=$?
		kill -0 "$c" 2>/dev/null || continue # gone while read: try the next one
		[ $rc = 0 ] || { echo "$r"; fail "the cycle is exposed"; }
		echo "$r"; seen=1; break
	done
	[ -n "$seen" ] && break
	kill -0 "$apid" 2>/dev/null || { cat agent.log; fail "the agent exited"; }
	sleep 0.01
done
[ -n "$seen" ] || { tail -20 agent.log; fail "no cycle caught running"; }
v1=$(git -C src rev-parse HEAD)
wait_field commit_applied "$v1" 60 || { cat agent.log; fail "v1 not applied by the agent running as nobody"; }
protected "$apid" shoal-agentd || fail "shoal-agentd exposed"
# commands holding a key or a plaintext, waiting for their input (for
# ever: the FIFO stays open) until they are seen protected, 5 s at most
mkfifo "$T/nb/in" && chown nobody "$T/nb/in"
for cmd in "unseal --key $T/nb/key --stack kittenapi --name x" \
	   "seal --recipient @$T/src/keys/recipients --stack kittenapi --name x"; do
	exec 7<> "$T/nb/in"
	# shellcheck disable=SC2086
	( exec 7>&-; as_nobody "$NBSHOAL" $cmd < "$T/nb/in" ) > /dev/null 2>&1 &
	cpid=$!
	rc=2 until=$((SECONDS + 5))
	while [ $SECONDS -lt $until ]; do
		sleep 0.05
		[ "$(tr '\0' ' ' < "/proc/$cpid/cmdline" 2>/dev/null)" = "$NBSHOAL $cmd " ] || continue # not exec'd yet
		r=$(protected "$cpid" "shoal ${cmd%% *}"); rc=$?
		[ $rc = 0 ] && break
	done
	echo "$r"
	kill $cpid 2>/dev/null
	exec 7>&-
	wait $cpid
	[ $rc = 0 ] || fail "shoal ${cmd%% *} is exposed"
done
echo "ok: agentd, cycle, unseal and seal: not dumpable, core limit 0"

# 2. JSON logs through a cycle that warns, then one that fails
( cd src && sed -i 's/^    image: \${KITTENAPI_IMAGE}$/&\n    restart: always/' stacks/kittenapi/kittenapi.yml &&
  grep -q 'restart: always' stacks/kittenapi/kittenapi.yml && git commit -qam warns && git push -q ../origin.git main ) ||
	fail "push warns"
v2=$(git -C src rev-parse HEAD)
wait_field commit_applied "$v2" 60 || { tail agent.log; fail "v2 not applied"; }
( cd src && sed -i 's/replicas: 2/replicas: two/' stacks/kittenapi/kittenapi.yml && git commit -qam broken &&
  git push -q ../origin.git main ) || fail "push broken"
v3=$(git -C src rev-parse HEAD)
wait_field commit_failed "$v3" 60 || { tail agent.log; fail "the invalid commit was not reported"; }
# the HTTP server's own message: connections over the per-address limit
python3 - "$aport" <<'PY'
import socket, sys, time
conns = []
for _ in range(40):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
    conns.append(s)
time.sleep(0.5)
PY
for _ in $(seq 1 50); do grep -q '"source":"http"' agent.log && break; sleep 0.1; done
kill -TERM $apid; wait $apid
python3 - agent.log <<'PY' || fail "the agent's output is not JSON lines"
import json, sys
lines = open(sys.argv[1], encoding="utf-8", errors="strict").read().split("\n")
assert lines[-1] == "", "the output does not end with a newline"
objs, bad = [], []
for n, line in enumerate(lines[:-1], 1):
    try:
        objs.append(json.loads(line))
    except ValueError:
        bad.append("%d: %r" % (n, line))
if bad:
    sys.exit("%d of %d lines are not JSON, e.g. line %s" % (len(bad), len(lines) - 1, bad[0]))
for n, (o, line) in enumerate(zip(objs, lines), 1):
    if not isinstance(o, dict) or set(o) != {"ts", "level", "msg", "fields"}:
        sys.exit("line %d: not {ts, level, msg, fields}: %r" % (n, line))
    if o["level"] not in ("info", "warning", "error") or not isinstance(o["msg"], str) \
            or not isinstance(o["fields"], dict) or not o["ts"].endswith("Z"):
        sys.exit("line %d: bad values: %r" % (n, line))
def has(what, f):
    if not any(f(o) for o in objs):
        sys.exit("no line for " + what)
f = lambda o, k: str(o["fields"].get(k, ""))
has("startup", lambda o: o["msg"].startswith("watching ") and f(o, "health_socket").endswith("/health.sock"))
has("an operation applied", lambda o: o["level"] == "info" and f(o, "op") == "create" and f(o, "kind") == "service"
    and f(o, "name") == "kittenapi_kittenapi" and o["msg"] == "Created service kittenapi_kittenapi")
has("a commit applied", lambda o: "applied:" in o["msg"] and "writes" in o["fields"])
has("a compose warning", lambda o: o["level"] == "warning" and f(o, "file").endswith("kittenapi.yml")
    and int(f(o, "line") or 0) > 0 and "restart" in o["msg"])
has("a compose error", lambda o: o["level"] == "error" and f(o, "file").endswith("kittenapi.yml")
    and int(f(o, "line") or 0) > 0)
has("the stack refused", lambda o: o["level"] == "error" and f(o, "stack") == "kittenapi" and "invalid" in o["msg"])
has("the http server", lambda o: f(o, "source") == "http")
has("the stop", lambda o: o["msg"] == "stopping on signal")
print("ok: %d log lines, all JSON objects {ts, level, msg, fields}" % len(objs))
PY

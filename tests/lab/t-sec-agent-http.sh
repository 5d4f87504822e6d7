# The agent's HTTP side against hostile clients (issue 15, items 5 and 7):
#  - a slowloris load (70 connections trickling header lines, 10 trickling
#    a /webhook body, all from one address) never delays the health check:
#    `shoal health` and /healthz over the health socket answer within 1 s
#    every time, and so does /healthz over TCP from another address; one
#    address holds at most 32 connections, and every slow one is closed
#    within the request deadline (10 s);
#  - --status-token-file: /status and /metrics answer 401 without the
#    token (or with a wrong one), 200 with it; /healthz, /readyz and the
#    signed /webhook need none; `shoal status --token-file` sends it; the
#    token never reaches the log;
#  - a second agent on the same run directory is refused.
. "$TOP/tests/lab/lib.sh"
git_server_start; case $? in 0) ;; 77) echo "SKIP: lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
label_node_for_template
src_init
aport=$((GIT_PORT + 1))
tok=st-$RANDOM$RANDOM$RANDOM
printf '%s\n' "$tok" > status.token && chmod 600 status.token
printf 'wrong\n' > wrong.token
printf 'hook-s3cret' > hook.secret
"$SHOAL" agent --repo "$GIT_URL" --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" \
	--webhook-secret-file hook.secret --status-token-file status.token --interval 30s --drift-interval 1h \
	> agent.log 2>&1 &
apid=$!
sock=$T/run/health.sock
for _ in $(seq 1 100); do "$SHOAL" health --socket "$sock" 2>/dev/null && break; sleep 0.1; done
"$SHOAL" health --socket "$sock" || { cat agent.log; fail "no health socket"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# the status token
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 300); do
	curl -fs -H "Authorization: Bearer $tok" "http://127.0.0.1:$aport/status" | grep -q "\"commit_applied\": \"$v1\"" && break
	sleep 0.2
done
curl -fs -H "Authorization: Bearer $tok" "http://127.0.0.1:$aport/status" | grep -q "\"commit_applied\": \"$v1\"" ||
	{ cat agent.log; fail "v1 not applied (or /status refused the right token)"; }
for path in /status /metrics; do
	[ "$(code "http://127.0.0.1:$aport$path")" = 401 ] || fail "$path without a token: not 401"
	[ "$(code -H 'Authorization: Bearer wrong' "http://127.0.0.1:$aport$path")" = 401 ] || fail "$path with a wrong token: not 401"
	[ "$(code -H "Authorization: Bearer ${tok}x" "http://127.0.0.1:$aport$path")" = 401 ] || fail "$path with a longer token: not 401"
	[ "$(code -H "Authorization: Basic $tok" "http://127.0.0.1:$aport$path")" = 401 ] || fail "$path with another scheme: not 401"
	[ "$(code -H "Authorization: Bearer $tok" "http://127.0.0.1:$aport$path")" = 200 ] || fail "$path with the token: not 200"
done
curl -s -D - -o /dev/null "http://127.0.0.1:$aport/status" | grep -qi '^WWW-Authenticate: Bearer' || fail "401 without WWW-Authenticate"
[ "$(code "http://127.0.0.1:$aport/healthz")" = 200 ] || fail "/healthz needs a token"
[ "$(code "http://127.0.0.1:$aport/readyz")" = 200 ] || fail "/readyz needs a token (or not ready)"
body='{"ref":"refs/heads/main"}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac hook-s3cret | sed 's/.* //')
[ "$(code -X POST -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "http://127.0.0.1:$aport/webhook")" = 202 ] ||
	fail "a signed webhook needs the status token"
[ "$(code -X POST -H "Authorization: Bearer $tok" -d "$body" "http://127.0.0.1:$aport/webhook")" = 401 ] ||
	fail "the status token stood in for a webhook signature"
expect_rc 1 "$SHOAL" status --agent "http://127.0.0.1:$aport" 2> status-no.err
grep -q -- '--token-file' status-no.err || { cat status-no.err; fail "shoal status without the token: no hint"; }
expect_rc 1 "$SHOAL" status --agent "http://127.0.0.1:$aport" --token-file wrong.token 2>/dev/null
"$SHOAL" status --agent "http://127.0.0.1:$aport" --token-file status.token > status.txt || fail "shoal status --token-file"
grep -q "^COMMIT APPLIED *${v1:0:12}" status.txt || { cat status.txt; fail "status table"; }
"$SHOAL" health "http://127.0.0.1:$aport" || fail "shoal health URL"
echo "ok: status token (401 without / wrong / longer / other scheme, 200 with; health, ready, webhook open)"

# a second agent on this run directory: refused, the first one unharmed
expect_rc 1 "$SHOAL" agent --repo "$GIT_URL" --listen 127.0.0.1:$((aport + 1)) --cache "$T/cache2.git" \
	--run-dir "$T/run" > second.log 2>&1
grep -q 'another agent serves' second.log || { cat second.log; fail "second agent: no reason"; }
"$SHOAL" health --socket "$sock" || fail "the second agent broke the first one's socket"

# slowloris: 70 header tricklers and 10 body tricklers from 127.0.0.1,
# a line or byte every 2 s (under the 5 s idle timeout), for 24 s
out=$(python3 "$TOP/tests/lab/slowloris.py" "$SHOAL" "$sock" $aport 70 10 2 24) || fail "slowloris.py"
echo "slowloris: $out"
val() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }
for k in health sock other; do
	[ "$(val ${k}_n)" -ge 20 ] || fail "too few $k probes: $out"
	[ "$(val ${k}_fails)" = 0 ] || fail "$k probes failed under the slow load: $out"
	lt "$(val ${k}_worst)" 1.0 || fail "$k probe took $(val ${k}_worst) s under the slow load"
done
[ "$(val kept)" -le 32 ] || fail "one address held $(val kept) connections (limit 32)"
[ "$(val refused)" -ge 48 ] || fail "only $(val refused) connections over the per-address limit were refused"
[ "$(val open_at_end)" = 0 ] || fail "$(val open_at_end) slow connections were never closed"
lt "$(val closed_max)" 14 || fail "a slow connection lasted $(val closed_max) s (deadline 10 s)"
grep -q 'sent no whole request within' agent.log || fail "the cut connections were not logged"
cut=$(curl -fs -H "Authorization: Bearer $tok" "http://127.0.0.1:$aport/metrics" | awk '$1 == "shoal_http_slow_closed_total" {print $2}')
[ "${cut:-0}" -ge "$(val kept)" ] || fail "shoal_http_slow_closed_total is ${cut:-missing}, $(val kept) were cut"
# and the agent still works
[ "$(code -H "Authorization: Bearer $tok" "http://127.0.0.1:$aport/status")" = 200 ] || fail "/status after the load"
kill -TERM $apid; wait $apid
! grep -qF -- "$tok" agent.log second.log status.txt || fail "the status token reached a log"
[ ! -e "$sock" ] || fail "the health socket was left behind"
echo "ok: slow clients: health over the socket worst $(val health_worst) s / $(val sock_worst) s, other address $(val other_worst) s;" \
	"$(val kept) kept, $(val refused) refused, all closed within $(val closed_max) s"

# A webhook flood (bounded: 10,000 signed + 5,000 badly signed requests,
# 30 s at most each, on loopback): the agent stays responsive on /healthz,
# its memory stays bounded, bad signatures are all refused, and the burst
# coalesces: one reconcile for the one new commit.
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID
label_node_for_template
src_init
aport=$((GIT_PORT + 1))
printf 'flood-s3cret' > hook.secret
"$SHOAL" agent --repo "$GIT_URL" --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" --webhook-secret-file hook.secret \
	--drift-interval 1h > agent.log 2>&1 &
apid=$!
trap 'kill $hpid $apid 2>/dev/null' EXIT
field() { curl -fs "http://127.0.0.1:$aport/status" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"] or '')" 2>/dev/null; }
metric() { curl -fs "http://127.0.0.1:$aport/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$v1" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v1" ] || fail "v1 not applied"
rss0=$(awk '/VmRSS/ {print $2}' /proc/$apid/status)
r0=$(metric shoal_reconcile_duration_seconds_count)
# bad signatures: all refused, nothing reconciled
out=$(python3 "$TOP/tests/lab/flood.py" $aport flood-s3cret 5000 16 30 bad) || fail "flood (bad)"
echo "bad:  $out"
echo "$out" | grep -q ' 401=5000 ' || fail "not every bad signature refused: $out"
[ "$(metric shoal_reconcile_duration_seconds_count)" = "$r0" ] || fail "bad signatures caused a reconcile"
# a new commit, then the flood of good signatures
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm v2 && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
out=$(python3 "$TOP/tests/lab/flood.py" $aport flood-s3cret 10000 16 30) || fail "flood"
echo "good: $out"
sent=$(echo "$out" | sed 's/^sent \([0-9]*\).*/\1/')
[ "$sent" -ge 2000 ] || fail "too few requests went through: $out"
echo "$out" | grep -q 'healthz_fails=0' || fail "/healthz failed during the flood: $out"
worst=$(echo "$out" | sed 's/.*healthz_worst=\([0-9.]*\).*/\1/')
awk -v w="$worst" 'BEGIN {exit !(w < 1.0)}' || fail "/healthz took $worst s during the flood"
for _ in $(seq 1 900); do [ "$(field commit_applied)" = "$v2" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$v2" ] || { tail agent.log; fail "v2 not applied"; }
sleep 2
r1=$(metric shoal_reconcile_duration_seconds_count)
[ $((r1 - r0)) = 1 ] || fail "the burst made $((r1 - r0)) reconciles, want 1"
rss1=$(awk '/VmHWM/ {print $2}' /proc/$apid/status)
echo "agent RSS before ${rss0} kB, peak after the floods ${rss1} kB"
[ $((rss1 - rss0)) -lt 8192 ] || fail "memory grew by $(( (rss1 - rss0) / 1024 )) MiB under the flood"
echo "ok: floods answered, /healthz responsive (worst $worst s), one reconcile, memory bounded"

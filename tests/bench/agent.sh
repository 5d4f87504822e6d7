# Agent: commit -> spec applied latency via the webhook; idle RSS and CPU.
echo
echo "## ${AGENT_TITLE:-Agent}"
echo
git_server_start || fail "git server"
hpid=$HTTPD_PID
label_node_for_template
SRC_PREP='sed -i "s/^    image: \${KITTENAPI_IMAGE}/&\n    init: true\n    stop_grace_period: 1s/" stacks/kittenapi/kittenapi.yml' src_init
aport=$((GIT_PORT + 1))
printf 'bench-hook' > hook.secret
# the default 60 s poll: only the webhook triggers a fetch
"$SHOAL" agent --repo "$GIT_URL" --listen 127.0.0.1:$aport --cache "$T/cache.git" --run-dir "$T/run" \
	--webhook-secret-file hook.secret > agent.log 2>&1 &
apid=$!
field() { curl -fs "http://127.0.0.1:$aport/status" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"] or '')" 2>/dev/null; }
for _ in $(seq 1 600); do [ "$(field commit_applied)" = "$(git -C src rev-parse HEAD)" ] && break; sleep 0.1; done
[ "$(field commit_applied)" = "$(git -C src rev-parse HEAD)" ] || fail "agent did not apply v1"
now() { date +%s.%N; }
hook() {
	local body='{"ref":"refs/heads/main"}' sig
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac bench-hook | sed 's/.* //')
	curl -fs -o /dev/null -X POST -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "http://127.0.0.1:$aport/webhook"
}
rounds=${BENCH_ROUNDS:-10}
: > lat-spec; : > lat-conv
for i in $(seq 1 "$rounds"); do
	img=$LAB_IMAGE; [ $((i % 2)) = 1 ] && img=shoal-lab/busybox:latest
	( cd src && printf 'KITTENAPI_IMAGE=%s\nBENCH_ROUND=%s\n' "$img" "$i" > stacks/kittenapi/vars.env &&
	  git add -A && git commit -qm "round $i" ) || fail "commit"
	sha=$(git -C src rev-parse HEAD)
	t0=$(now)
	git -C src push -q ../origin.git main && hook || fail "push/hook"
	# spec applied: the engine holds the new image (polled on the engine, not the agent)
	for _ in $(seq 1 3000); do
		[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = "$img" ] && break
		sleep 0.01
	done
	t1=$(now)
	for _ in $(seq 1 1200); do [ "$(field commit_applied)" = "$sha" ] && break; sleep 0.05; done
	t2=$(now)
	echo "$t1 - $t0" | bc >> lat-spec
	echo "$t2 - $t0" | bc >> lat-conv
done
p50=$(pct 50 < lat-spec); p90=$(pct 90 < lat-spec); c50=$(pct 50 < lat-conv)
mark() { awk -v v="$1" -v g="$2" 'BEGIN {print (v <= g) ? "met" : "NOT met"}'; }
echo "| measure | value | goal |"
echo "|---|---|---|"
printf '| push + webhook → service spec updated, p50 (%s rounds) | %.3f s | ≤ 0.2 s p50: %s |\n' "$rounds" "$p50" "$(mark "$p50" 0.2)"
printf '| push + webhook → service spec updated, p90 | %.3f s | |\n' "$p90"
printf '| push + webhook → commit reported applied (tasks converged), p50 | %.3f s | |\n' "$c50"
# idle: one minute with nothing to do (the default poll fires about once)
sleep 2
read -r u0 s0 < <(awk '{print $14, $15}' /proc/$apid/stat)
sleep "${BENCH_IDLE:-60}"
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$apid/stat)
[ -n "${BENCH_DEBUG:-}" ] && cat /proc/$apid/smaps_rollup >&2
rss=$(awk '/VmRSS/ {print $2}' /proc/$apid/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$apid/status)
cpu=$(echo "scale=3; ($u1 + $s1 - $u0 - $s0) * 100 / $(getconf CLK_TCK) / ${BENCH_IDLE:-60}" | bc)
printf '| idle RSS after the rounds | %.1f MiB (peak %.1f MiB) | ≤ 8 MiB: %s |\n' "$(echo "$rss/1024" | bc -l)" \
	"$(echo "$hwm/1024" | bc -l)" "$(mark "$rss" 8192)"
printf '| idle CPU over %s s | %s %% of a core | ~0 |\n' "${BENCH_IDLE:-60}" "$cpu"
kill $apid $hpid 2>/dev/null; wait $apid 2>/dev/null

# Cost that follows the stack, not the swarm (issue 20): a 50-service stack
# (replicas 0) deployed by shoal and docker on an empty swarm, then on one
# holding $BENCH_BIG (1,000) services of other stacks (tests/bench/
# bigswarm.py: stacks of 10, every tenth service publishing a port);
# apply --stack of the same stack from a repository; a repository of 100
# stacks applied on the big swarm, its reads counted by an engine proxy
# (tests/lab/read-proxy.py); the agent's webhook latency (tests/bench/
# agent.sh, $BENCH_SCALE_AGENT_ROUNDS (5) rounds) on the empty swarm and
# on the big one.  Last, issue 20's goals in one table.  About 12 minutes
# on 2 cores (each agent round waits for its rolling update to converge,
# ~14 s); BENCH_SCALE_NO_AGENT=1 leaves the agent out.
section_start=$EPOCHREALTIME
echo
echo "## Big swarm: shoal vs docker, empty swarm vs $((${BENCH_BIG:-1000})) other services"
echo
compare_cli || fail "no docker CLI to compare with"
DOCKER_CLI=$DOCKER28
rounds=${BENCH_SCALE_ROUNDS:-5}
big=${BENCH_BIG:-1000}
gen_stack 50 "$LAB_IMAGE" > big50.yml
mkdir -p one/stacks/s50 && cp big50.yml one/stacks/s50/s50.yml
rlog="$T/record.log"
python3 "$TOP/tests/lab/read-proxy.py" "$T/record.sock" "${DOCKER_HOST#unix://}" "$rlog" &
rpid=$!
trap 'kill $rpid 2>/dev/null; lab_down' EXIT
for _ in $(seq 1 50); do [ -S "$T/record.sock" ] && break; sleep 0.1; done
# one stack removed and gone (the other stacks stay)
stack_gone() {
	docker stack rm "$1" >/dev/null 2>&1
	for _ in $(seq 1 300); do
		[ -z "$(docker service ls -q -f label=com.docker.stack.namespace="$1")" ] &&
			[ -z "$(docker network ls -q -f label=com.docker.stack.namespace="$1")" ] && break
		sleep 0.2
	done
	settle
}
# peak RSS of a deploy, KiB: tool file stack
peak() {
	local bin=$SHOAL
	[ "$1" = docker ] && bin=$DOCKER_CLI
	/usr/bin/time -f %M -o "$T/rss.out" "$bin" stack deploy --resolve-image never -c "$2" "$3" >/dev/null 2>&1
	cat "$T/rss.out"
}
# requests of a command through the recording proxy: "writes/reads objects-read"
recorded() {
	: > "$rlog"
	DOCKER_HOST="unix://$T/record.sock" "$@" >/dev/null 2>&1
	jq -rs '[(map(select(.method != "GET" and .method != "HEAD")) | length),
		 (map(select(.method == "GET")) | length),
		 (map((.names // []) | length) | add)] | "\(.[0])/\(.[1]) \(.[2])"' "$rlog"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
measure() { # phase (empty|big): samples into files named after it
	local p=$1 r tool
	for f in fresh re rssf rssr cnt app; do for tool in docker shoal; do : > "$p-$f-$tool"; done; done
	for r in $(seq 1 "$rounds"); do
		for tool in docker shoal; do
			timed deploy $tool big50.yml "${tool:0:1}50$p$r" >> "$p-fresh-$tool"
			for _ in 1 2 3; do
				settle
				timed deploy $tool big50.yml "${tool:0:1}50$p$r" >> "$p-re-$tool"
			done
			stack_gone "${tool:0:1}50$p$r"
		done
	done
	for tool in docker shoal; do
		peak $tool big50.yml "${tool:0:1}50${p}m" >> "$p-rssf-$tool"
		settle
		peak $tool big50.yml "${tool:0:1}50${p}m" >> "$p-rssr-$tool"
		recorded deploy $tool big50.yml "${tool:0:1}50${p}m" >> "$p-cnt-$tool"
		stack_gone "${tool:0:1}50${p}m"
	done
	# apply --stack from a repository (the stack managed by shoal)
	"$SHOAL" apply --stack s50 one >/dev/null 2>&1 || echo "bench: apply --stack failed" >&2
	for _ in $(seq 1 $((rounds * 3))); do
		settle
		timed "$SHOAL" apply --stack s50 one >> "$p-app-shoal"
	done
	stack_gone s50
}
# the agent's webhook latency on the swarm as it is (tests/bench/agent.sh in
# a directory of its own; its stacks removed after): p50 into agent_p50
agent_p50=
agent_run() { # dir title
	# (agent.sh's variables stay in here: rounds is this section's too)
	local tsave=$T st rounds t0 t1 t2 p50 p90 c50 img sha
	T=$tsave/$1
	mkdir -p "$T" && cd "$T" || fail "agent dir"
	AGENT_TITLE=$2
	BENCH_IDLE=${BENCH_IDLE_BIG:-5}
	BENCH_ROUNDS=${BENCH_SCALE_AGENT_ROUNDS:-5}
	. "$TOP/tests/bench/agent.sh"
	agent_p50=$p50
	for st in $(ls src/stacks); do stack_gone "$st"; done
	T=$tsave
	cd "$T" || fail "cd"
}
row() { # label docker-samples shoal-samples
	local d s
	d=$(median < "$2"); s=$(median < "$3")
	printf '| %s | %.3f s | %.3f s | %s |' "$1" "$d" "$s" "$(ratio "$s" "$d")"
}
measure empty
p50_empty= p50_big=
if [ -z "${BENCH_SCALE_NO_AGENT:-}" ]; then
	agent_run agent-empty "Agent, empty swarm"
	p50_empty=$agent_p50
fi
settle
t0=$EPOCHREALTIME
python3 "$TOP/tests/bench/bigswarm.py" "${DOCKER_HOST#unix://}" "$LAB_IMAGE" "$big" || fail "big swarm"
tbig=$(echo "$EPOCHREALTIME - $t0" | bc)
[ "$(docker service ls -q | wc -l)" -ge "$big" ] || fail "big swarm: $(docker service ls -q | wc -l) services"
settle
measure big
echo
echo "### 50 services, shoal vs docker, on each swarm"
echo
echo "| 50 services, replicas 0 | docker | shoal | shoal/docker | goal |"
echo "|---|---|---|---|---|"
for p in empty big; do
	mark() { awk -v v="$1" -v g="$2" 'BEGIN {print (v <= g) ? "met" : "NOT met"}'; }
	dr=$(median < "$p-re-docker"); sr=$(median < "$p-re-shoal")
	df=$(median < "$p-fresh-docker"); sf=$(median < "$p-fresh-shoal")
	label=$([ $p = empty ] && echo "empty swarm" || echo "$big other services")
	echo "$(row "unchanged redeploy, $label" "$p-re-docker" "$p-re-shoal") ≤ 0.2x, 0 writes: $(mark "$(ratio "$sr" "$dr")" 0.2), $(cut -d/ -f1 "$p-cnt-shoal") writes |"
	echo "$(row "fresh deploy, $label" "$p-fresh-docker" "$p-fresh-shoal") ≤ 0.5x: $(mark "$(ratio "$sf" "$df")" 0.5) |"
	for k in rssf rssr; do
		d=$(median < "$p-$k-docker"); s=$(median < "$p-$k-shoal")
		printf '| peak RSS, %s, %s | %s | %s | %s | ≤ 0.2x: %s |\n' "$([ $k = rssf ] && echo fresh || echo redeploy)" "$label" \
			"$(mib "$d")" "$(mib "$s")" "$(ratio "$s" "$d")" "$(mark "$(ratio "$s" "$d")" 0.2)"
	done
	printf '| requests w/r and objects read (redeploy), %s | %s | %s | | |\n' "$label" "$(cat "$p-cnt-docker")" "$(cat "$p-cnt-shoal")"
done
echo
echo "| big swarm / empty swarm (medians) | empty | $big other services | big/empty | goal |"
echo "|---|---|---|---|---|"
for k in "docker stack deploy (unchanged):re-docker" "shoal stack deploy (unchanged):re-shoal" "shoal apply --stack (unchanged):app-shoal" \
	 "docker stack deploy (fresh):fresh-docker" "shoal stack deploy (fresh):fresh-shoal"; do
	e=$(median < "empty-${k#*:}"); b=$(median < "big-${k#*:}")
	goal=; case ${k#*:} in re-shoal|app-shoal) goal="≤ 1.2x: $(awk -v v="$(ratio "$b" "$e")" 'BEGIN {print (v <= 1.2) ? "met" : "NOT met"}')" ;; esac
	printf '| %s | %.3f s | %.3f s | %s | %s |\n' "${k%%:*}" "$e" "$b" "$(ratio "$b" "$e")" "$goal"
done

# a repository of 100 stacks (2 services each) on the big swarm
python3 - repo100 "$LAB_IMAGE" <<'PY'
import os, sys
d, img = sys.argv[1], sys.argv[2]
for s in range(100):
    sd = os.path.join(d, "stacks", "app%03d" % s)
    os.makedirs(sd, exist_ok=True)
    with open(os.path.join(sd, "compose.yml"), "w") as f:
        f.write("services:\n")
        for i in range(2):
            f.write("  svc%d:\n    image: %s\n    environment: [INDEX=%d]\n    deploy: {replicas: 0}\n" % (i, img, i))
PY
settle
t1=$EPOCHREALTIME
c1=$(recorded "$SHOAL" apply repo100)
t1=$(echo "$EPOCHREALTIME - $t1" | bc)
settle
: > repo-re
for _ in $(seq 1 "$rounds"); do timed "$SHOAL" apply repo100 >> repo-re; settle; done
c2=$(recorded "$SHOAL" apply repo100)
# every object an answer held: the repository's, or the ingress network
other=$(jq -r 'select(.method == "GET") | .names[]?' "$rlog" | grep -vcE '^(app[0-9]{3}_|ingress$)')
echo
echo "| repository of 100 stacks / 200 services, $big other services | value |"
echo "|---|---|"
printf '| first apply (creates 300 objects) | %.3f s, requests w/r %s, objects read %s |\n' "$t1" "${c1% *}" "${c1#* }"
printf '| unchanged apply, median of %s | %.3f s, requests w/r %s, objects read %s |\n' "$rounds" "$(median < repo-re)" "${c2% *}" "${c2#* }"
printf '| objects read that are neither managed nor named by the repository | %s (goal 0: %s) |\n' "$other" \
	"$([ "$other" = 0 ] && echo met || echo "NOT met")"
kill $rpid 2>/dev/null
if [ -z "${BENCH_SCALE_NO_AGENT:-}" ]; then
	agent_run agent-big "Agent, $big other services"
	p50_big=$agent_p50
fi
echo
echo "### Issue 20's goals, $big other services"
echo
echo "| goal | measured | |"
echo "|---|---|---|"
gl() { # label value-text ratio-or-value bound
	printf '| %s | %s | %s |\n' "$1" "$2" "$(awk -v v="$3" -v g="$4" 'BEGIN {print (v <= g) ? "met" : "NOT met"}')"
}
dr=$(median < big-re-docker); sr=$(median < big-re-shoal); df=$(median < big-fresh-docker); sf=$(median < big-fresh-shoal)
gl "unchanged redeploy ≤ 0.2x docker, 0 writes" "$(ratio "$sr" "$dr")x, $(cut -d/ -f1 big-cnt-shoal) writes" \
	"$(awk -v r="$(ratio "$sr" "$dr")" -v w="$(cut -d/ -f1 big-cnt-shoal)" 'BEGIN {print (w == 0) ? r : 99}')" 0.2
gl "fresh deploy of 50 services ≤ 0.5x docker" "$(ratio "$sf" "$df")x" "$(ratio "$sf" "$df")" 0.5
for k in rssf rssr; do
	d=$(median < "big-$k-docker"); s=$(median < "big-$k-shoal")
	gl "peak RSS ≤ 0.2x docker ($([ $k = rssf ] && echo fresh deploy || echo redeploy))" \
		"$(mib "$s") / $(mib "$d") = $(ratio "$s" "$d")x" "$(ratio "$s" "$d")" 0.2
done
for k in re-shoal:"stack deploy" app-shoal:"apply --stack"; do
	e=$(median < "empty-${k%%:*}"); b=$(median < "big-${k%%:*}")
	gl "\`${k#*:}\` (unchanged) within 1.2x of the empty swarm" "$(printf '%.3f s / %.3f s = %s' "$b" "$e" "$(ratio "$b" "$e")")x" \
		"$(ratio "$b" "$e")" 1.2
done
printf '| repository of 100 stacks reads only managed and named objects | %s other objects read | %s |\n' "$other" \
	"$([ "$other" = 0 ] && echo met || echo "NOT met")"
if [ -n "$p50_big" ]; then
	gl "agent: webhook → spec updated p50 ≤ 0.2 s, empty swarm" "$(printf '%.3f s' "$p50_empty")" "$p50_empty" 0.2
	gl "agent: webhook → spec updated p50 ≤ 0.2 s, $big other services" "$(printf '%.3f s' "$p50_big")" "$p50_big" 0.2
fi
echo
echo "Big swarm built through the Engine API in $(printf '%.0f' "$tbig") s ($big services, 16 creates in flight). Time is the command's wall time, each run started on an idle engine (settle), medians of $rounds rounds (redeploys: 3 per round); requests and the objects their answers held counted by tests/lab/read-proxy.py; peak RSS by /usr/bin/time (max resident set); agent rounds: ${BENCH_SCALE_AGENT_ROUNDS:-5} per swarm. Section run time: $(printf '%.0f' "$(echo "$EPOCHREALTIME - $section_start" | bc)") s."

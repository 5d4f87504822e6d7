# shoal stack deploy vs docker stack deploy on the same engine: fresh
# deploys of 1/10/50/200 services, unchanged redeploys, one image changed
# in 50; wall time (median of rounds, 3 redeploys per round, direct to the
# engine, each started on an idle engine: settle) and requests by kind (one
# more round through a logging proxy in front of the engine).
# Services have replicas 0: the tools' work, not the engine's task starts.
echo
echo "## stack deploy: shoal vs docker"
echo
compare_cli || fail "no docker CLI to compare with"
DOCKER_CLI=$DOCKER28
rounds=${BENCH_DEPLOY_ROUNDS:-5}
sizes=${BENCH_SIZES:-1 10 50 200}
proxy_log="$T/proxy.log"
python3 "$TOP/tests/lab/race-proxy.py" "$T/proxy.sock" "${DOCKER_HOST#unix://}" "$proxy_log" 0 &
ppid_=$!
for _ in $(seq 1 50); do [ -S "$T/proxy.sock" ] && break; sleep 0.1; done
counted() { # tool file stack -> "writes/reads"
	: > "$proxy_log"
	DOCKER_HOST="unix://$T/proxy.sock" deploy "$@" >/dev/null 2>&1
	awk '$1 == "GET" || $1 == "HEAD" {r++} $1 != "GET" && $1 != "HEAD" {w++} END {printf "%d/%d", w, r}' "$proxy_log"
}
echo "| services | docker fresh | shoal fresh | shoal/docker | docker redeploy | shoal redeploy | shoal/docker | requests fresh w/r docker · shoal | redeploy w/r docker · shoal |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in $sizes; do
	gen_stack "$n" "$LAB_IMAGE" > "s$n.yml"
	gen_stack "$n" "$LAB_IMAGE" shoal-lab/other:2 > /dev/null
	# rounds alternate between the tools, each into an emptied swarm: the
	# engine's cost per create grows with the services it already holds
	: > "fresh-docker-$n"; : > "re-docker-$n"; : > "fresh-shoal-$n"; : > "re-shoal-$n"
	for r in $(seq 1 "$rounds"); do
		for tool in docker shoal; do
			timed deploy $tool "s$n.yml" "${tool:0:1}${n}r$r" >> "fresh-$tool-$n"
			# redeploys repeat the same work: several per round, each a sample
			for _ in 1 2 3; do
				settle
				timed deploy $tool "s$n.yml" "${tool:0:1}${n}r$r" >> "re-$tool-$n"
			done
			empty_swarm
		done
	done
	for tool in docker shoal; do
		cf[$tool]=$(counted $tool "s$n.yml" "${tool:0:1}${n}c")
		cr[$tool]=$(counted $tool "s$n.yml" "${tool:0:1}${n}c")
		empty_swarm
	done
	df=$(median < "fresh-docker-$n"); sf=$(median < "fresh-shoal-$n")
	dr=$(median < "re-docker-$n"); sr=$(median < "re-shoal-$n")
	printf '| %s | %.3f s | %.3f s | %s | %.3f s | %.3f s | %s | %s · %s | %s · %s |\n' "$n" "$df" "$sf" "$(ratio "$sf" "$df")" \
		"$dr" "$sr" "$(ratio "$sr" "$dr")" "${cf[docker]}" "${cf[shoal]}" "${cr[docker]}" "${cr[shoal]}"
done
# one service's image changed in a 50-service stack
gen_stack 50 "$LAB_IMAGE" > c1.yml
{ gen_stack 50 "$LAB_IMAGE" | sed '0,/image: .*/s//image: shoal-lab\/busybox:latest/'; } > c2.yml
for tool in docker shoal; do
	: > "chg-$tool"
	for r in $(seq 1 "$rounds"); do
		deploy $tool c1.yml "${tool:0:1}chg$r" >/dev/null 2>&1
		settle
		timed deploy $tool c2.yml "${tool:0:1}chg$r" >> "chg-$tool"
	done
	deploy $tool c1.yml "${tool:0:1}chgc" >/dev/null 2>&1
	cc[$tool]=$(counted $tool c2.yml "${tool:0:1}chgc")
done
dc=$(median < chg-docker); sc=$(median < chg-shoal)
echo
echo "| one image changed in 50 services | docker | shoal | shoal/docker |"
echo "|---|---|---|---|"
printf '| wall time (median of %s) | %.3f s | %.3f s | %s |\n' "$rounds" "$dc" "$sc" "$(ratio "$sc" "$dc")"
printf '| requests writes/reads | %s | %s | |\n' "${cc[docker]}" "${cc[shoal]}"
kill $ppid_ 2>/dev/null
echo
echo "docker CLI: $("$DOCKER_CLI" version -f '{{.Client.Version}}' 2>/dev/null); time is the command's wall time (bash's EPOCHREALTIME around it), direct to the engine's socket, each run started on an idle engine; medians of $rounds rounds (redeploys: 3 per round); requests counted by tests/lab/race-proxy.py (no races) in front of it."

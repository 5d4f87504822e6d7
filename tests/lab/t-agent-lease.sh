# Two agents on one repository: one lease, held in the swarm (a config
# object updated with ?version=), so exactly one writes; when it is killed
# (SIGKILL, no goodbye) the other takes over after the lease expires; an
# agent stopped cleanly (SIGTERM) hands the lease over at once, not after its TTL.
. "$TOP/tests/lab/lib.sh"
need lighttpd
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: lease NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
label_node_for_template
src_init
port=$GIT_PORT; pa=$((port + 1)); pb=$((port + 2)); hpid=$HTTPD_PID
trap 'kill $hpid $aa $ab 2>/dev/null' EXIT
run_agent() { "$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl 4s \
	--listen "127.0.0.1:$1" --cache "$T/cache-$1.git" --run-dir "$T/run-$1" > "agent-$1.log" 2>&1 & }
run_agent $pa; aa=$!
run_agent $pb; ab=$!
field() { curl -fs --max-time 5 "http://127.0.0.1:$1/status" | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$2\"]; print(v if v is not None else '')" 2>/dev/null; }
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 100); do
	[ "$(field $pa commit_applied)" = "$v1" ] || [ "$(field $pb commit_applied)" = "$v1" ] && break
	sleep 0.1
done
# both know their role (each says it as soon as its cycle knows)
for _ in $(seq 1 300); do
	case "$(field $pa role)$(field $pb role)" in leaderstandby|standbyleader) break ;; esac
	sleep 0.1
done
ra=$(field $pa role); rb=$(field $pb role)
echo "roles: a=$ra b=$rb"
[ "$ra$rb" = leaderstandby ] || [ "$ra$rb" = standbyleader ] || fail "roles $ra/$rb: want exactly one leader"
if [ "$ra" = leader ]; then lead=$pa lpid=$aa other=$pb; else lead=$pb lpid=$ab other=$pa; fi
[ -z "$(field $other commit_applied)" ] || fail "the standby applied something"
grep -q 'standing by' "agent-$other.log" || fail "standby did not say so"
# the leader applies a new commit; the standby does not
( cd src && printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > stacks/kittenapi/vars.env &&
  git add -A && git commit -qm v2 && git push -q ../origin.git main ) || fail "push v2"
v2=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field $lead commit_applied)" = "$v2" ] && break; sleep 0.1; done
[ "$(field $lead commit_applied)" = "$v2" ] || fail "leader did not apply v2"
[ -z "$(field $other commit_applied)" ] || fail "the standby applied v2 too"
# the leader dies without releasing: the standby takes over after the TTL
kill -9 $lpid
( cd src && git revert --no-edit HEAD >/dev/null && git push -q ../origin.git main ) || fail "push v3"
v3=$(git -C src rev-parse HEAD)
for _ in $(seq 1 600); do [ "$(field $other commit_applied)" = "$v3" ] && break; sleep 0.1; done
[ "$(field $other commit_applied)" = "$v3" ] || { cat "agent-$other.log"; fail "standby did not take over"; }
[ "$(field $other role)" = leader ] || fail "new leader's role"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' kittenapi_kittenapi)" = "$LAB_IMAGE" ] || fail "v3 content"
# a clean stop releases: with a 120 s TTL the successor still takes over in seconds
if [ "$other" = "$pa" ]; then opid=$aa; else opid=$ab; fi
kill -TERM $opid; wait $opid 2>/dev/null
grep -q "lease .* released" "agent-$other.log" || fail "SIGTERM did not release the lease"
pe=$((port + 3)); pf=$((port + 4))
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl 120s --listen "127.0.0.1:$pe" --cache "$T/cache-e.git" --run-dir "$T/run-e" > agent-e.log 2>&1 &
aa=$!
for _ in $(seq 1 100); do [ "$(field $pe role)" = leader ] && break; sleep 0.1; done
[ "$(field $pe role)" = leader ] || fail "e did not take the released lease"
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --lease-ttl 120s --listen "127.0.0.1:$pf" --cache "$T/cache-f.git" --run-dir "$T/run-f" > agent-f.log 2>&1 &
ab=$!
for _ in $(seq 1 50); do [ "$(field $pf role)" = standby ] && break; sleep 0.1; done
[ "$(field $pf role)" = standby ] || fail "f should stand by while e holds the lease"
kill -TERM $aa; wait $aa 2>/dev/null
grep -q "lease .* released" agent-e.log || { cat agent-e.log; fail "e did not release the lease on SIGTERM"; }
# f polls every second and says its role as soon as it has taken the lease
for _ in $(seq 1 100); do [ "$(field $pf role)" = leader ] && break; sleep 0.1; done
[ "$(field $pf role)" = leader ] || { cat agent-e.log agent-f.log; fail "f did not take over after e's clean stop"; }
echo "ok: one writer; SIGKILL → takeover after TTL; SIGTERM → immediate handover"

# An invalid commit pushed while a rollout converges does not end the watch
# of that rollout: the invalid commit is recorded as invalid
# (file:line:column), nothing of it is written, and the commit whose
# rollout runs is still waited for, to its own deadline, so that its
# outcome is reported (not "superseded" by a commit never applied); the
# branch's head stays invalid, said once.
. "$TOP/tests/lab/lib.sh"
need lighttpd jq
git_server_start; case $? in 0) ;; 77) echo "lighttpd missing: NOT TESTED"; exit 77 ;; *) fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid=
trap 'kill $hpid $apid 2>/dev/null' EXIT
aport=$((GIT_PORT + 1))
mkdir -p src/stacks/app
( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci )
push() { push_rolling_web "$1" "$LAB_IMAGE" 15s; }
field() { agent_field "$aport" "$1"; }
wait_field() { # jq value seconds
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do [ "$(field "$1")" = "$2" ] && return 0; sleep 0.2; done
	tail -30 agent.log; fail "$1 is not $2 after $3 s: $(field "$1")"
}
v1=$(push 1)
"$SHOAL" agent --repo "$GIT_URL" --interval 1s --converge-timeout 300s --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --run-dir "$T/run" >> agent.log 2>&1 &
apid=$!
wait_field .commit_applied "$v1" 120
v2=$(push 2)
wait_field .converging.commit "$v2" 60
deadline=$(field .converging.deadline)
# an invalid commit during the rollout
printf 'services:\n  web:\n    image: [unclosed\n' > src/stacks/app/app.yml
( cd src && git commit -qam "invalid" && git push -q ../origin.git main ) || fail "push invalid"
v3=$(git -C src rev-parse HEAD)
inv='.history | map(select(.commit == "'"$v3"'"))[0]'
wait_field "$inv.outcome" invalid 60
field "$inv.errors[0]" | grep -q '^stacks/app/app.yml:[0-9]*:[0-9]*: ' || fail "no file:line:column: $(field "$inv.errors[0]")"
# the rollout of v2 is still being watched, to its own deadline
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ] && [ "$(field .converging.commit)" != "$v2" ]; do sleep 0.2; done
[ "$(field .converging.commit)" = "$v2" ] ||
	fail "the rollout of $v2 is no longer watched after an invalid commit (history: $(field '[.history[] | .outcome] | join(",")'), converging: $(field .converging.commit))"
[ "$(field .converging.deadline)" = "$deadline" ] || fail "the deadline moved: $deadline -> $(field .converging.deadline)"
wait_field '.history | map(select(.commit == "'"$v2"'"))[0].outcome' applied 200
[ "$(field '[.history[] | select(.outcome == "superseded")] | length')" = 0 ] || fail "a superseded entry left: $(field .history)"
[ "$(field .commit_applied)" = "$v2" ] || fail "commit_applied: $(field .commit_applied)"
# the branch still points at the invalid commit: it stays invalid, not re-applied
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ] && [ "$(field .commit_failed)" != "$v3" ]; do sleep 0.2; done
[ "$(field .commit_failed)" = "$v3" ] || fail "the invalid head is not said again after the rollout: $(field .commit_failed)"
[ "$(grep -c "commit ${v3:0:12} is invalid:" agent.log)" = 1 ] || fail "the invalid commit reported more than once"
echo "ok: an invalid commit during a rollout is recorded invalid; the rollout is still watched and reported"

# Credentials stay out of the repository URL and the cache is the agent's
# alone (issue 15, items 4 and 9), against a real Git server with basic
# auth and the real agent:
#  - --repo with a user part (http) or a password (ssh, scp-like) is refused
#    with a message naming --token-file / --ssh-key, from the command line,
#    the config file and --once; the token shows nowhere;
#  - with --token-file the token is not in ps, the log, /status or any file
#    of the cache; the cache is 0700/0600 (libgit2's files included), the
#    run directory 0700, the health socket 0600;
#  - --user gives away only what shoal created: an existing parent keeps
#    its owner, an existing directory shoal did not make is refused, links
#    are never followed, a hard-linked file is left alone.
. "$TOP/tests/lab/lib.sh"
pw=tok-$RANDOM$RANDOM$RANDOM
GIT_AUTH="deploy:$pw" git_server_start
case $? in 0) ;; 77) echo "SKIP: lighttpd missing: NOT TESTED"; exit 77 ;; *) cat "$T/httpd.err"; fail "git server did not start" ;; esac
hpid=$HTTPD_PID apid= spid=
trap 'kill $hpid $apid $spid 2>/dev/null' EXIT
label_node_for_template
src_init
printf '%s\n' "$pw" > token && chmod 600 token
hostpath=${GIT_URL#http://}
leaks() { # where the password shows: files given, then processes (masked in bash: a
	# masking process would show it in its own arguments)
	grep -rlF -- "$pw" "$@" 2>/dev/null
	local p; p=$(pgrep -fa -- "$pw")
	[ -z "$p" ] || echo "${p//$pw/***}"
}
show() { sed "s/$pw/***/g" "$@"; } # a log, the test token masked

# 1. refused, whichever way the URL comes
refused() { # log want-in-message, command... (an agent that accepts runs on: stopped after 20 s)
	local log=$1 want=$2; shift 2
	timeout 20 "$@" > "$log" 2>&1; local rc=$?
	[ $rc = 64 ] || { show "$log"; fail "$log: the agent exited $rc, want 64 (refused)"; }
	grep -q -- "$want" "$log" || { show "$log"; fail "$log: the refusal does not name $want"; }
	grep -q 'credentials in the URL' "$log" || { show "$log"; fail "$log: no reason given"; }
}
refused r1.log --token-file "$SHOAL" agent --repo "http://deploy:$pw@$hostpath" --cache "$T/r1.git" --run-dir "$T/r1run"
refused r2.log --token-file "$SHOAL" agent --once --repo "http://deploy:$pw@$hostpath" --cache "$T/r2.git"
refused r3.log --token-file "$SHOAL" agent --repo "http://$pw@$hostpath" --cache "$T/r3.git" --run-dir "$T/r3run"
printf 'repo = http://deploy:%s@%s\ncache = %s/r4.git\nrun-dir = %s/r4run\n' "$pw" "$hostpath" "$T" "$T" > r4.conf
refused r4.log --token-file "$SHOAL" agent --config r4.conf
refused r5.log --ssh-key "$SHOAL" agent --repo "ssh://git:$pw@127.0.0.1:22/srv/x.git" --known-hosts /dev/null \
	--cache "$T/r5.git" --run-dir "$T/r5run"
refused r6.log --ssh-key "$SHOAL" agent --repo "git:$pw@127.0.0.1:srv/x.git" --known-hosts /dev/null \
	--cache "$T/r6.git" --run-dir "$T/r6run"
grep -h 'credentials in the URL' r1.log r6.log
for d in r1.git r2.git r3.git r4.git r5.git r6.git; do [ ! -e "$d" ] || fail "a refused agent made its cache $d"; done
[ -z "$(leaks r?.log)" ] || fail "the token shows in: $(leaks r?.log)"
[ -z "$(docker service ls -q)" ] || fail "a refused agent deployed something"

# 2. the token from a file: nowhere to be seen
aport=$((GIT_PORT + 1))
"$SHOAL" agent --repo "$GIT_URL" --username deploy --token-file token --listen 127.0.0.1:$aport \
	--cache "$T/cache.git" --run-dir "$T/run" --interval 2s > agent.log 2>&1 &
apid=$!
v1=$(git -C src rev-parse HEAD)
for _ in $(seq 1 300); do
	curl -fs "http://127.0.0.1:$aport/status" | grep -q "\"commit_applied\": \"$v1\"" && break
	sleep 0.2
done
curl -fs "http://127.0.0.1:$aport/status" > status.json
grep -q "\"commit_applied\": \"$v1\"" status.json || { show agent.log; fail "v1 not applied with --token-file"; }
[ -z "$(leaks agent.log status.json "$T/cache.git" "$T/run")" ] || fail "the token shows in: $(leaks agent.log status.json "$T/cache.git" "$T/run")"
# private: no group or other bit on anything in the cache (libgit2's
# objects, packs, config, refs included), the run directory and socket
[ -f "$T/cache.git/config" ] && [ -n "$(find "$T/cache.git/objects" -type f | head -1)" ] || fail "no mirror in the cache"
wide=$(find "$T/cache.git" "$T/run" ! -type l -perm /077 -printf '%m %p\n')
[ -z "$wide" ] || fail "cache or run files readable by others: $wide"
[ "$(stat -c %a "$T/cache.git")" = 700 ] && [ "$(stat -c %a "$T/run")" = 700 ] && [ "$(stat -c %a "$T/run/health.sock")" = 600 ] ||
	fail "modes: cache $(stat -c %a "$T/cache.git"), run $(stat -c %a "$T/run"), socket $(stat -c %a "$T/run/health.sock")"
[ -f "$T/cache.git/shoal-cache" ] || fail "the cache shoal made carries no mark"
"$SHOAL" health --socket "$T/run/health.sock" || fail "health socket"
kill -TERM $apid; wait $apid
[ -z "$(leaks agent.log)" ] || fail "the token reached the log"
echo "ok: URL credentials refused (6 forms); token file: not in ps, log, /status or cache; cache private"

# 3. --user: run as nobody, the docker socket shared through a group (a
# relay owned by group nogroup stands for docker.sock's group)
nogroup=$(id -gn nobody)
socat UNIX-LISTEN:"$T/docker.sock",fork,mode=660,group="$nogroup" UNIX-CONNECT:"${DOCKER_HOST#unix://}" 2>/dev/null &
spid=$!
for _ in $(seq 1 50); do [ -S "$T/docker.sock" ] && break; sleep 0.1; done
chmod 711 "$T" # nobody passes through the scratch directory, reads nothing in it
once_as_nobody() { # log cache
	DOCKER_HOST="unix://$T/docker.sock" "$SHOAL" agent --once --user nobody --repo "$GIT_URL" --username deploy \
		--token-file token --cache "$2" > "$1" 2>&1
}
owner() { stat -c %U "$1"; }
# an existing parent keeps its owner (the old code handed it over)
mkdir -m 755 "$T/x"
expect_rc 0 once_as_nobody u1.log "$T/x/repo.git"
grep -q 'running as nobody' u1.log || { show u1.log; fail "did not run as nobody"; }
[ "$(owner "$T/x")" = root ] && [ "$(stat -c %a "$T/x")" = 755 ] || fail "$T/x was given away: $(stat -c '%U %a' "$T/x")"
[ "$(owner "$T/x/repo.git")" = nobody ] || fail "the cache is not nobody's"
[ -z "$(find "$T/x/repo.git" ! -user nobody)" ] || fail "files of the cache not nobody's: $(find "$T/x/repo.git" ! -user nobody)"
# parents made now are given away, the existing one above them is not
mkdir -m 755 "$T/y"
expect_rc 0 once_as_nobody u2.log "$T/y/sub/repo.git"
[ "$(owner "$T/y")" = root ] || fail "$T/y was given away"
[ "$(owner "$T/y/sub")" = nobody ] && [ "$(stat -c %a "$T/y/sub")" = 700 ] || fail "$T/y/sub: $(stat -c '%U %a' "$T/y/sub")"
# an existing directory shoal did not make: refused, left alone
mkdir -p "$T/z/repo.git" && touch "$T/z/repo.git/precious"
expect_rc 1 once_as_nobody u3.log "$T/z/repo.git"
grep -q 'not created by shoal' u3.log || { show u3.log; fail "no reason for the refusal"; }
[ "$(owner "$T/z/repo.git")" = root ] && [ "$(owner "$T/z/repo.git/precious")" = root ] || fail "a foreign directory was given away"
# a cache that is a link: refused, its target untouched
mkdir "$T/victim" && ln -s "$T/victim" "$T/link.git"
expect_rc 1 once_as_nobody u4.log "$T/link.git"
grep -q 'symbolic link' u4.log || { show u4.log; fail "a linked cache was not refused"; }
[ "$(owner "$T/victim")" = root ] || fail "the link's target was given away"
# inside shoal's own cache: a link out and a hard link to root's file are left alone
mkdir "$T/victim2" && ln -s "$T/victim2" "$T/x/repo.git/out"
echo keep > "$T/rootfile" && ln "$T/rootfile" "$T/x/repo.git/hard"
chown -h root:root "$T/x/repo.git/out"
expect_rc 0 once_as_nobody u5.log "$T/x/repo.git"
[ "$(owner "$T/victim2")" = root ] && [ "$(owner "$T/rootfile")" = root ] && [ "$(stat -c %a "$T/rootfile")" = 644 ] ||
	fail "followed a link: victim2 $(owner "$T/victim2"), rootfile $(stat -c '%U %a' "$T/rootfile")"
[ -z "$(leaks u?.log)" ] || fail "the token reached a log"
echo "ok: --user gives away only what shoal made; foreign dirs refused; links and hard links never followed"

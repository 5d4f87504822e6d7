# Helpers for lab scenarios (sourced by t-*.sh through run-lab-tests).

fail() { echo "FAIL: $*"; exit 1; }

# need COMMAND…: a scenario that cannot run without them exits 77 at once,
# naming what is missing (run-lab-tests fails it unless SKIP names it)
need() { lab_require "$@" || exit 77; }

# The docker CLI >= 25 that runs docker stack deploy for comparisons:
# $DOCKER28, else docker CLI 28 at /usr/local/bin/docker, else Debian 13's
# docker-cli that tests/deps test unpacks.  Sets DOCKER28; 77 when none.
compare_cli() {
	local c
	for c in ${DOCKER28:-/usr/local/bin/docker ${SHOAL_LAB_CACHE:-/var/tmp/shoal-lab-cache}/docker-cli/usr/bin/docker}; do
		"$c" --version 2>/dev/null | grep -q '^Docker version \(2[5-9]\|[3-9][0-9]\)\.' && { DOCKER28=$c; return 0; }
	done
	lab_log "no docker CLI >= 25 at ${DOCKER28:-/usr/local/bin/docker or the lab cache} (tests/deps test provides one)"
	return 77
}

# A copy of repo-template whose images are the lab's stand-ins.
make_repo() {
	cp -r "$TOP/repo-template" "$1"
	# the agent's own stack needs the agent image and its secrets: only
	# t-image deploys it
	[ -n "${KEEP_AGENT_STACK:-}" ] || rm -rf "$1/stacks/shoal"
	chmod 600 "$1/keys/demo.key"
	SHOAL_KEY_FILE=$(cd "$1" && pwd)/keys/demo.key
	export SHOAL_KEY_FILE
	sed -i "s|^TRAEFIK_IMAGE=.*|TRAEFIK_IMAGE=$LAB_IMAGE|; s|^MONGO_IMAGE=.*|MONGO_IMAGE=$LAB_IMAGE|; s|^KITTENAPI_IMAGE=.*|KITTENAPI_IMAGE=$LAB_IMAGE|" "$1/vars.env"
	# the lab engine's socket stands in for /var/run/docker.sock, which
	# exists only where a system engine runs: without it traefik's task is
	# rejected and an agent waiting for convergence reports the failure
	sed -i "s|- /var/run/docker.sock:|- $LAB_DIR/run/docker.sock:|" "$1/stacks/traefik/traefik.yml"
	# kittenapi waits for mongo to converge (x-shoal.depends_on): mongo's
	# members must be placeable
	[ -n "${MAKE_REPO_NO_LABELS:-}" ] || label_node_for_template
}

# "name version" for every service, network-independent and sorted.
svc_versions() {
	docker service ls -q | xargs -r docker service inspect -f '{{.Spec.Name}} {{.Version.Index}}' | sort
}

# Versions of every object kind, to prove no write happened.
all_versions() {
	svc_versions
	docker secret ls -q | xargs -r docker secret inspect -f 'secret {{.Spec.Name}} {{.Version.Index}}' | sort
	# the agents' lease (renewed while they run) is not a deployed object
	docker config ls -q | xargs -r docker config inspect -f 'config {{.Spec.Name}} {{.Version.Index}}' | grep -v '^config shoal-lease-' | sort
	docker network ls -q --filter driver=overlay | xargs -r docker network inspect -f 'network {{.Name}} {{.Id}}' | sort
}

expect_rc() { # want, command...
	local want=$1; shift
	"$@"; local rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}
# the same with the command's output in a file, shown when it exits
# otherwise (a redirection of expect_rc itself would swallow fail's words)
expect_rc_log() { # want, file, command...
	local want=$1 log=$2; shift 2
	"$@" > "$log" 2>&1; local rc=$?
	[ "$rc" = "$want" ] || { tail -40 "$log"; fail "'$*' exited $rc, expected $want"; }
}

# Seal a value (from stdin) for the repo's recipients.
seal_into() { # repo stack name file
	"$SHOAL" seal --recipient @"$1/keys/recipients" --stack "$2" --name "$3" > "$4"
}

# Wait for a running container of a service; print its ID.
task_container() {
	local c
	for _ in $(seq 1 100); do
		c=$(docker ps -q --filter label=com.docker.swarm.service.name="$1" | head -1)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.3
	done
	return 1
}

# Label the lab node so every repo-template stand-in can be placed.
label_node_for_template() {
	docker node update --label-add usage=apps --label-add mongo01=true --label-add mongo02=true \
		--label-add mongo03=true "$(docker node ls -q)" >/dev/null
}

# A real smart-HTTP Git server for agents: git http-backend behind lighttpd
# on loopback, serving $T/origin.git (bare) at http://127.0.0.1:$GIT_PORT/git/
# origin.git.  Sets GIT_PORT, GIT_URL and HTTPD_PID; free ports above
# GIT_PORT are the callers' (GIT_SERVER_PORT: this port, not a random one).
git_server_start() {
	command -v lighttpd >/dev/null || return 77
	git init -q --bare "$T/origin.git"
	# GIT_NETNS/GIT_BIND: serve inside a lab namespace, for containers
	local run=() bind=${GIT_BIND:-127.0.0.1}
	[ -n "${GIT_NETNS:-}" ] && run=(nsenter --net=/run/netns/"$GIT_NETNS")
	# a port with the five above it free too (the callers' agents and
	# receivers): other scenarios may be running on the same loopback
	local try used
	for try in $(seq 1 50); do
		GIT_PORT=${GIT_SERVER_PORT:-$(lab_port)}
		used=$("${run[@]}" ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' |
			awk -v lo="$GIT_PORT" '$1 >= lo && $1 <= lo + 5' | head -1)
		[ -z "$used" ] || [ -n "${GIT_SERVER_PORT:-}" ] && break
	done
	local scheme=http host=$bind mods='"mod_alias", "mod_cgi", "mod_setenv"' extra='' curlopt=''
	if [ -n "${GIT_TLS:-}" ]; then
		# a CA of our own and a server certificate for localhost
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lab-ca -keyout "$T/ca.key" \
			-out "$T/ca.pem" 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$T/srv.ext" &&
		openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
			-extfile "$T/srv.ext" -out "$T/srv.pem" 2>/dev/null || return 1
		scheme=https host=localhost mods="$mods, \"mod_openssl\"" curlopt="--cacert $T/ca.pem"
		extra="ssl.engine = \"enable\"
ssl.pemfile = \"$T/srv.pem\"
ssl.privkey = \"$T/srv.key\""
	fi
	if [ -n "${GIT_AUTH:-}" ]; then # user:password, basic auth on every request
		printf '%s:%s\n' "${GIT_AUTH%%:*}" "$(openssl passwd -apr1 "${GIT_AUTH#*:}")" > "$T/htpasswd"
		mods="$mods, \"mod_auth\", \"mod_authn_file\""
		extra="$extra
auth.backend = \"htpasswd\"
auth.backend.htpasswd.userfile = \"$T/htpasswd\"
auth.require = (\"/git/\" => (\"method\" => \"basic\", \"realm\" => \"git\", \"require\" => \"valid-user\"))"
		curlopt="$curlopt -u $GIT_AUTH"
	fi
	GIT_URL="$scheme://$host:$GIT_PORT/git/origin.git"
	cat > "$T/httpd.conf" <<CONF
server.document-root = "$T"
server.bind = "$bind"
server.port = $GIT_PORT
server.modules = ($mods)
server.errorlog = "$T/httpd.err"
alias.url = ("/git/" => "/usr/lib/git-core/git-http-backend/")
\$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "$T", "GIT_HTTP_EXPORT_ALL" => "1", "REMOTE_USER" => "git")
}
$extra
CONF
	"${run[@]}" lighttpd -D -f "$T/httpd.conf" > "$T/http.log" 2>&1 &
	HTTPD_PID=$!
	# shellcheck disable=SC2086
	for _ in $(seq 1 50); do "${run[@]}" curl -fs $curlopt "$GIT_URL/info/refs?service=git-upload-pack" >/dev/null && return 0; sleep 0.1; done
	return 1
}

# A receiver for the agent's notifications on 127.0.0.1:PORT: each POSTed
# body appended, one a line, to FILE (notify-receiver.py).  Sets NOTIFY_PID;
# returns once it answers, 1 when it does not within 10 s.
notify_receiver_start() { # port file
	python3 "$TOP/tests/lab/notify-receiver.py" "$1" "$2" &
	NOTIFY_PID=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
		kill -0 "$NOTIFY_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	kill "$NOTIFY_PID" 2>/dev/null
	return 1
}

# A real SSH Git server: the machine's sshd binary with a config, host key
# and authorized_keys of our own, on loopback, serving $T/origin.git.  Sets
# SSH_PORT, SSH_URL, SSHD_PID, SSH_KEY (the deploy key) and KNOWN_HOSTS.
ssh_server_start() {
	[ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null || return 77
	[ -d "$T/origin.git" ] || git init -q --bare "$T/origin.git"
	mkdir -p /run/sshd && chmod 755 /run/sshd # privilege separation directory
	SSH_PORT=$(lab_port)
	ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_key" -C lab-host &&
	ssh-keygen -q -t ed25519 -N '' -f "$T/deploy_key" -C lab-deploy || return 1
	SSH_KEY="$T/deploy_key"
	printf 'restrict %s\n' "$(cat "$T/deploy_key.pub")" > "$T/authorized_keys"
	cat > "$T/sshd_config" <<CONF
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $T/ssh_host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers root
LogLevel VERBOSE
CONF
	/usr/sbin/sshd -D -e -f "$T/sshd_config" 2> "$T/sshd.log" &
	SSHD_PID=$!
	KNOWN_HOSTS="$T/known_hosts"
	printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1-2 "$T/ssh_host_key.pub")" > "$KNOWN_HOSTS"
	SSH_URL="ssh://root@127.0.0.1:$SSH_PORT$T/origin.git"
	for _ in $(seq 1 50); do
		GIT_SSH_COMMAND="ssh -i $SSH_KEY -o UserKnownHostsFile=$KNOWN_HOSTS -o BatchMode=yes" \
			git ls-remote "$SSH_URL" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# A working copy of repo-template (lab images) in src, committed and pushed
# to origin.git's main; extra git config as "key=value" arguments.
src_init() {
	make_repo src
	# SRC_PREP: a command run in src before the first commit
	[ -z "${SRC_PREP:-}" ] || ( cd src && eval "$SRC_PREP" ) || fail "SRC_PREP"
	( cd src && git init -q -b main && git config user.email ci@example.invalid && git config user.name ci &&
	  for kv in "$@"; do git config "${kv%%=*}" "${kv#*=}"; done &&
	  git add -A && git commit -q ${SIGN:+-S} -m v1 && git push -q ../origin.git main ) || fail "push v1"
}

# A debian:bookworm-slim base in the lab engine: debootstrap (cached as a
# tar under $SHOAL_LAB_CACHE between local runs), then docker import.
debian_base() {
	docker image inspect debian:bookworm-slim >/dev/null 2>&1 && return 0
	local cache=${SHOAL_LAB_CACHE:-/var/tmp/shoal-lab-cache} tar
	tar="$cache/bookworm-minbase.tar"
	if [ ! -s "$tar" ]; then
		command -v debootstrap >/dev/null || return 77
		mkdir -p "$cache" && rm -rf "$cache/root.tmp" || return 1
		debootstrap --variant=minbase bookworm "$cache/root.tmp" http://deb.debian.org/debian \
			> "$cache/debootstrap.log" 2>&1 || { tail -5 "$cache/debootstrap.log"; return 1; }
		tar -C "$cache/root.tmp" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar" && rm -rf "$cache/root.tmp" || return 1
	fi
	docker import - debian:bookworm-slim < "$tar" >/dev/null
}

# apt inside `docker build --network host` (the engine's namespace,
# $BUILD_NETNS, else the lab's): a relay from the namespace's 127.0.0.1:3142
# to Debian's mirror, through a unix socket (the lab namespace has no route
# out).  Sets RELAY_PIDS (recorded as temporary in net.sh's NET_STATE).
apt_relay_start() {
	command -v socat >/dev/null || return 77
	socat UNIX-LISTEN:"$T/apt.sock",fork TCP:deb.debian.org:80 2> "$T/relay-out.log" &
	RELAY_PIDS=$!
	type net_record >/dev/null 2>&1 && net_record tmp $! apt-relay
	nsenter --net=/run/netns/"${BUILD_NETNS:-$LAB_NS}" socat TCP-LISTEN:3142,bind=127.0.0.1,fork,reuseaddr \
		UNIX-CONNECT:"$T/apt.sock" 2> "$T/relay-in.log" &
	RELAY_PIDS="$RELAY_PIDS $!"
	type net_record >/dev/null 2>&1 && net_record tmp $! apt-relay
	sleep 0.3
}

# The agent image shoal:lab, built from the Dockerfile in the engine of
# DOCKER_HOST (the lab's; BUILD_NETNS names its namespace when it is
# another) on the debootstrapped base, apt reaching Debian through the
# relay; 77 when debootstrap or socat is missing.  A second build in a lab
# run is all cache.
agent_image() {
	debian_base || return $?
	apt_relay_start || return $?
	local relay=$RELAY_PIDS rc=0
	DOCKER_BUILDKIT=0 docker build --network host --build-arg http_proxy=http://127.0.0.1:3142 \
		-t shoal:lab "$TOP" > build.log 2>&1 || { tail -30 build.log; rc=1; }
	kill $relay 2>/dev/null
	return $rc
}

# A rollout that takes seconds, for the agent scenarios: src/stacks/app's
# web (2 replicas of a task that ignores SIGTERM, so each stop takes its
# grace period; one at a time) with ROUND=round, committed in src and
# pushed to origin.git; prints the commit.
push_rolling_web() { # round [image [stop grace]]
	cat > src/stacks/app/app.yml <<YML
version: "3.8"
services:
  web:
    image: ${2:-$LAB_IMAGE}
    command: ["sleep", "3600"]
    environment: {ROUND: "$1"}
    stop_grace_period: ${3:-20s}
    deploy:
      replicas: 2
      update_config: {parallelism: 1, delay: 1s, monitor: 2s, order: stop-first}
YML
	( cd src && git add -A && git commit -qm "round $1" && git push -q ../origin.git main ) || fail "push $1"
	git -C src rev-parse HEAD
}

# A field (jq) of the agent's /status on 127.0.0.1:port, empty if none.
agent_field() { # port jq
	curl -fs --max-time 5 "http://127.0.0.1:$1/status" | jq -r "$2 // empty" 2>/dev/null
}

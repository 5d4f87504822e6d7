# tests/lab/env.sh - the seed articles' whole environment in network
# namespaces, built step by step and left running (tests/lab-env: make
# lab-up, make lab-down; tests/lab/t-lab-up.sh).  Sourced after lab.sh,
# lib.sh and net.sh, with ENV_DIR set (absolute).
#
# Everything lives in ENV_DIR; its file "state" names, as each is made, every
# namespace, process (PID and start time), cgroup and step, so env_down
# removes exactly that.  Lines: "conf KEY VALUE", "begin STEP", "step STEP",
# "netns NAME", "pid|dockerd|tmp PID START WHAT", "gone PID START",
# "cgroup NAME".
#
# Steps, in order (env_up UNTIL stops after one; a later env_up goes on):
#   repo        repo-template with the stand-in images, the lab's engines,
#               secrets and agent settings, committed (src)
#   net         the LAN bridge, the gateway and the outside (net.sh)
#   gateway     shoal bootstrap gateway; dnsmasq and shorewall on it
#   nodes       docker01-06: each asks the gateway's DHCP for its address
#               (busybox udhcpc, kept running to renew), then runs a dockerd
#   images      the stand-in image and the agent's (the Dockerfile) on the nodes
#   keepalived  shoal bootstrap keepalived, keepalived on each manager
#   git         a Git server on the LAN (10.0.0.20) holding src
#   relays      an admin machine on the LAN (a DHCP address from the range)
#               and the loopback ports that reach the lab from the host
#   swarm       shoal bootstrap swarm: the swarm, the agent; then waits for
#               the agent to apply the repository and port 80 to answer

ENV_STEPS="repo net gateway nodes images keepalived git relays swarm"
ENV_MANAGERS="docker01 docker02 docker03"
ENV_WORKERS="docker04 docker05 docker06"
ENV_NODES="$ENV_MANAGERS $ENV_WORKERS"
ENV_STATE=$ENV_DIR/state
ENV_GIT_ADDR=10.0.0.20
# the reservations of repo-template/cluster.yml
env_addr() { case $1 in docker0[1-9]) echo "10.0.0.$((${1#docker0} + 2))" ;; esac; }
env_log() { printf 'lab: %s\n' "$*" >&2; }
# on NODE docker ARGS…: the docker CLI on that node's engine
on() { local n=$1; shift; DOCKER_HOST="unix://$NET_DIR/$n/d.sock" docker "$@"; }

# env_require COMMAND…: every one installed, else name the missing ones
env_require() {
	local c miss=
	for c in "$@"; do command -v "$c" >/dev/null || miss="$miss $c"; done
	[ -z "$miss" ] && return 0
	env_log "missing:$miss (the Debian packages the lab needs: .ci/run)"
	return 1
}

# env_conf KEY VALUE: a setting kept for the later commands (env_load)
env_conf() { printf 'conf %s %s\n' "$1" "$2" >> "$ENV_STATE"; eval "$1=\$2"; }

# env_load: the settings from the state file, and what follows from them
env_load() {
	local kind k v
	while read -r kind k v; do
		[ "$kind" = conf ] || continue
		case $k in NET_P|PORT_WEB|PORT_GIT|PORT_AGENT) printf -v "$k" '%s' "$v" ;; esac
	done < "$ENV_STATE"
	NET_DIR=$ENV_DIR/net NET_STATE=$ENV_STATE
	INV=$ENV_DIR/src/cluster.yml
	GIT_URL=http://$ENV_GIT_ADDR/git/origin.git
	SHOAL_KEY_FILE=$ENV_DIR/src/keys/demo.key
	export SHOAL_KEY_FILE
}

env_done() { grep -qx "step $1" "$ENV_STATE" 2>/dev/null; }

# env_alive PID START: that very process still runs (proc_start without
# a subshell: down calls it for every recorded process, in loops)
env_alive() {
	local s
	[ -n "$2" ] && read -r s 2>/dev/null < "/proc/$1/stat" || return 1
	set -- "$2" ${s##*) }
	[ "${21}" = "$1" ]
}

# env_daemons: "PID START WHAT" of every daemon the lab keeps running
env_daemons() {
	awk '$1 == "gone" { gone[$2 " " $3] = 1 }
	     $1 == "pid" || $1 == "dockerd" { d[++n] = $2 " " $3; w[n] = $0 }
	     END { for (i = 1; i <= n; i++) if (!(d[i] in gone)) { sub(/^[a-z]+ /, "", w[i]); print w[i] } }' "$ENV_STATE"
}

# env_check: 0 every step done and every daemon running, 2 steps left to
# do, 3 not whole (a step interrupted, a daemon gone; said on stderr)
env_check() {
	local last p s what
	last=$(awk '$1 == "begin" { b = $2 } $1 == "step" && $2 == b { b = "" } END { print b }' "$ENV_STATE")
	[ -z "$last" ] || { env_log "step '$last' was interrupted"; return 3; }
	while read -r p s what; do
		env_alive "$p" "$s" || { env_log "$what (pid $p) is not running"; return 3; }
	done < <(env_daemons)
	for s in $ENV_STEPS; do env_done "$s" || return 2; done
	return 0
}

env_up() { # [UNTIL]
	local s t0
	for s in $ENV_STEPS; do
		if ! env_done "$s"; then
			t0=$(date +%s)
			printf 'begin %s\n' "$s" >> "$ENV_STATE"
			"env_step_$s" || { env_log "step $s failed"; return 1; }
			printf 'step %s\n' "$s" >> "$ENV_STATE"
			env_log "$s ($(( $(date +%s) - t0 )) s)"
		fi
		[ "$s" = "${1:-}" ] && return 0
	done
	return 0
}

# --- the steps

env_step_repo() {
	local d=$ENV_DIR
	mkdir -p "$d/secrets" "$d/git" && chmod 700 "$d/secrets" || return 1
	printf 'no-token-needed' > "$d/secrets/git-token"
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/secrets/webhook-secret"
	git init -q --bare -b main "$d/git/origin.git" || return 1
	KEEP_AGENT_STACK=1 MAKE_REPO_NO_LABELS=1 make_repo "$d/src" || return 1
	cp "$d/src/keys/demo.key" "$d/secrets/shoal.key" && chmod 600 "$d/secrets/shoal.key" || return 1
	(
		cd "$d/src" || exit 1
		sed -i 's|^SHOAL_IMAGE=.*|SHOAL_IMAGE=shoal:lab|' vars.env
		# each node's own socket, where /var/run/docker.sock is on a real node
		sed -i "s|- [^ ]*docker.sock:|- $NET_DIR/self/d.sock:|" stacks/traefik/traefik.yml stacks/shoal/shoal.yml
		sed -i "s|unix:///run/shoal/\(docker0[0-9]\).sock|unix://$NET_DIR/\1/d.sock|; s|/root/shoal/|$ENV_DIR/secrets/|" cluster.yml
		cat > agent/agent.conf <<-CONF
		repo = $GIT_URL
		interval = 2s
		listen = 0.0.0.0:9300
		cache = /var/lib/shoal/repo.git
		user = shoal
		key = /run/secrets/shoal-key
		token-file = /run/secrets/shoal-git-token
		webhook-secret-file = /run/secrets/shoal-webhook-secret
		converge-timeout = 90s
		CONF
		grep -q "unix://$NET_DIR/docker06/d.sock" cluster.yml || { env_log "cluster.yml: no lab engines"; exit 1; }
		git init -q -b main && git config user.email lab@example.invalid && git config user.name lab &&
			git add -A && git commit -qm "repo-template, with the lab's stand-in images and engines" &&
			git push -q "$ENV_DIR/git/origin.git" main
	)
}

env_step_net() { net_up; }

# a command on the gateway, shorewall's state in the lab (not the machine's)
env_gw_sh() { ns gw sh -c "mount --bind '$ENV_DIR/swlib' /var/lib/shorewall && $1"; }

env_step_gateway() {
	local r=$ENV_DIR/gw-root
	mkdir -p "$r/etc/shorewall" "$ENV_DIR/swlib" || return 1
	printf 'LOCKFILE=%s/sw.lock\nSTARTUP_LOG=%s/sw-start.log\n' "$ENV_DIR" "$ENV_DIR" > "$r/etc/shorewall/shorewall.conf"
	env_gw_sh "'$SHOAL' bootstrap gateway -f '$INV' --root '$r'" > "$ENV_DIR/gw.out" 2>&1 || { cat "$ENV_DIR/gw.out" >&2; return 1; }
	env_dnsmasq_start || return 1
	env_gw_sh "shorewall start '$r/etc/shorewall'" > "$ENV_DIR/sw.out" 2>&1 || { cat "$ENV_DIR/sw.out" >&2; return 1; }
}

# dnsmasq on the gateway from the file bootstrap gateway wrote; again after
# a change of the inventory (env_dnsmasq_restart)
env_dnsmasq_start() {
	printf 'conf-file=%s\nbind-interfaces\nno-resolv\ndhcp-leasefile=%s\npid-file=%s\n' \
		"$ENV_DIR/gw-root/etc/dnsmasq.d/shoal.conf" "$ENV_DIR/dnsmasq.leases" "$ENV_DIR/dnsmasq.pid" > "$ENV_DIR/dnsmasq.conf"
	net_bg gw dnsmasq -k -C "$ENV_DIR/dnsmasq.conf" >> "$ENV_DIR/dnsmasq.log" 2>&1
	local _
	for _ in $(seq 1 50); do ns gw ss -Hlun 'sport = :67' | grep -q . && return 0; sleep 0.1; done
	env_log "dnsmasq does not listen"; tail -5 "$ENV_DIR/dnsmasq.log" >&2
	return 1
}

env_dnsmasq_restart() {
	local p s what
	while read -r p s what; do
		[ "$what" = "gw dnsmasq" ] || continue
		stop_pids 5 "$p"
		printf 'gone %s %s\n' "$p" "$s" >> "$ENV_STATE"
	done < <(env_daemons)
	env_dnsmasq_start
}

# env_dhcp NAME [ADDRESS]: udhcpc on NAME's LAN interface, asking as NAME,
# kept running to renew the lease; prints the address it got (ADDRESS:
# the reservation it must be)
env_dhcp() {
	local got _
	net_bg "$1" busybox udhcpc -f -i enp0s3 -x "hostname:$1" -T 1 -A 1 -s "$ENV_DIR/udhcpc.sh" > "$ENV_DIR/udhcpc-$1.log" 2>&1
	for _ in $(seq 1 100); do
		got=$(ns "$1" ip -4 -o addr show dev enp0s3 dynamic | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
		[ -n "$got" ] && break
		sleep 0.2
	done
	[ -n "$got" ] || { env_log "$1 got no DHCP lease"; cat "$ENV_DIR/udhcpc-$1.log" >&2; return 1; }
	[ -z "${2:-}" ] || [ "$got" = "$2" ] || { env_log "$1 got $got from DHCP, not its reservation $2"; return 1; }
	echo "$got"
}

env_step_nodes() {
	# the DHCP client's hook: the lease's address (with its lifetime, so
	# "dynamic") and the default route, nothing else (never a resolv.conf);
	# the floating IP keepalived adds is permanent and stays
	cat > "$ENV_DIR/udhcpc.sh" <<-'SH'
	#!/bin/sh
	drop() { ip -4 -o addr show dev "$interface" dynamic | awk '{print $4}' | while read -r a; do ip addr del "$a" dev "$interface"; done; }
	case $1 in
	deconfig) drop ;;
	bound) drop; ip -4 addr add "$ip/$mask" dev "$interface" valid_lft "$lease" preferred_lft "$lease" ;;
	renew) ip -4 addr replace "$ip/$mask" dev "$interface" valid_lft "$lease" preferred_lft "$lease" ;;
	esac
	case $1 in bound|renew) [ -z "$router" ] || ip -4 route replace default via "${router%% *}" dev "$interface" ;; esac
	exit 0
	SH
	chmod 755 "$ENV_DIR/udhcpc.sh"
	local n a
	for n in $ENV_NODES; do
		net_node "$n" && a=$(env_dhcp "$n" "$(env_addr "$n")") && net_dockerd "$n" "$a" || { env_log "node $n"; return 1; }
	done
	net_dockerd_wait $ENV_NODES
}

# the hash of what the Dockerfile builds from (as .dockerignore leaves it)
env_src_key() {
	(cd "$TOP" && find Dockerfile Makefile agent reconcile secrets -type f ! -name '*.o' ! -name '*.d' -print0 |
		sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# The stand-in image and the agent's: built in SHOAL_LAB_BUILD_HOST's engine
# (namespace SHOAL_LAB_BUILD_NETNS; the lab tests pass their engine, whose
# build cache t-image filled), else in docker01's.  The agent image is kept
# in the lab cache for its sources, so that the next lab-up loads it.
env_step_images() {
	local cache=${SHOAL_LAB_CACHE:-/var/tmp/shoal-lab-cache} key tar p loads= n
	key=$(env_src_key) || return 1
	tar=$cache/agent-image-$key.tar
	(
		cd "$ENV_DIR" || exit 1  # build.log, standin.tar
		export DOCKER_HOST=${SHOAL_LAB_BUILD_HOST:-unix://$NET_DIR/docker01/d.sock}
		BUILD_NETNS=${SHOAL_LAB_BUILD_NETNS:-${NET_P}docker01}
		docker image inspect "$LAB_IMAGE" >/dev/null 2>&1 || lab_make_image || exit 1
		docker save -o standin.tar "$LAB_IMAGE" shoal-lab/busybox:latest || exit 1
		[ -s "$tar" ] && exit 0
		agent_image || exit 1
		mkdir -p "$cache" && docker save -o "$tar.tmp" shoal:lab && mv "$tar.tmp" "$tar" || exit 1
		find "$cache" -maxdepth 1 -name 'agent-image-*.tar' ! -name "${tar##*/}" -delete
	) || { env_log "the images could not be built (build.log)"; return 1; }
	for n in $ENV_NODES; do
		on "$n" load -q -i "$ENV_DIR/standin.tar" > /dev/null &
		loads="$loads $!"
	done
	for n in $ENV_MANAGERS; do
		on "$n" load -q -i "$tar" > /dev/null &
		loads="$loads $!"
	done
	for p in $loads; do wait "$p" || { env_log "docker load failed"; return 1; }; done
	rm -f "$ENV_DIR/standin.tar"
}

env_step_keepalived() {
	local n
	for n in $ENV_MANAGERS; do
		ns "$n" "$SHOAL" bootstrap keepalived -f "$INV" --node "$n" --root "$ENV_DIR/$n" > "$ENV_DIR/ka-$n.out" 2>&1 ||
			{ cat "$ENV_DIR/ka-$n.out" >&2; return 1; }
		net_bg "$n" keepalived -n -l -D -G -P -f "$ENV_DIR/$n/etc/keepalived/keepalived.conf" -i "$n" \
			-p "$ENV_DIR/ka-$n.pid" -r "$ENV_DIR/ka-$n-vrrp.pid" > "$ENV_DIR/keepalived-$n.log" 2>&1
	done
}

env_step_git() {
	net_node git "$ENV_GIT_ADDR" || return 1
	# the server's files (and nothing else of the lab) under git/
	T=$ENV_DIR/git GIT_NETNS=${NET_P}git GIT_BIND=$ENV_GIT_ADDR GIT_SERVER_PORT=80 git_server_start ||
		{ env_log "the git server did not start"; return 1; }
	net_record pid "$HTTPD_PID" git lighttpd
	git -C "$ENV_DIR/git/origin.git" symbolic-ref HEAD refs/heads/main
}

# env_forward NAME NAMESPACE SOCAT-ADDRESS PORT: 127.0.0.1:PORT on the host
# reaches SOCAT-ADDRESS from inside NAMESPACE, through a unix socket (the
# host gets no route into the lab)
env_forward() {
	local s=$ENV_DIR/fwd/$1.sock l=$ENV_DIR/fwd/$1 _
	net_bg "$2" socat UNIX-LISTEN:"$s",fork,unlink-early "$3" > "$l-in.log" 2>&1
	for _ in $(seq 1 50); do [ -S "$s" ] && break; sleep 0.1; done
	setsid socat TCP-LISTEN:"$4",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$s" > "$l-out.log" 2>&1 &
	net_record pid $! "host 127.0.0.1:$4"
	local p=$!
	for _ in $(seq 1 50); do ss -Hltn "sport = :$4" | grep -q . && return 0; kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	env_log "127.0.0.1:$4 does not listen"; cat "$l-out.log" >&2
	return 1
}

env_step_relays() {
	local a
	net_node admin && a=$(env_dhcp admin) || return 1
	case $a in 10.0.0.2[0-5][0-9]) ;; *) env_log "admin got $a, not an address of the DHCP range"; return 1 ;; esac
	mkdir -p "$ENV_DIR/fwd" || return 1
	# the agent publishes 9300 on the manager its task runs on: try each
	printf '#!/bin/sh\nfor a in %s; do socat - TCP:$a:9300,connect-timeout=2 2>/dev/null && exit 0; done\nexit 1\n' \
		"$(for n in $ENV_MANAGERS; do env_addr "$n"; done | tr '\n' ' ')" > "$ENV_DIR/fwd/agent-connect"
	chmod 755 "$ENV_DIR/fwd/agent-connect"
	env_forward web out TCP:198.51.100.1:80 "$PORT_WEB" &&
	env_forward git admin TCP:$ENV_GIT_ADDR:80 "$PORT_GIT" &&
	env_forward agent admin SYSTEM:"$ENV_DIR/fwd/agent-connect" "$PORT_AGENT"
}

# the agent's /status field (through the host's relay)
env_status_field() {
	curl -fs -m 5 "http://127.0.0.1:$PORT_AGENT/status" |
		python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null
}

env_step_swarm() {
	local head _
	"$SHOAL" bootstrap swarm -f "$INV" > "$ENV_DIR/boot.out" 2>&1 || { cat "$ENV_DIR/boot.out" >&2; return 1; }
	head=$(git -C "$ENV_DIR/src" rev-parse HEAD)
	for _ in $(seq 1 180); do [ "$(env_status_field commit_applied)" = "$head" ] && break; sleep 1; done
	[ "$(env_status_field commit_applied)" = "$head" ] || {
		on docker01 service ps --no-trunc shoal_agent >&2; on docker01 service logs --raw shoal_agent 2>&1 | tail -30 >&2
		env_log "the agent did not apply the repository"; return 1
	}
	for _ in $(seq 1 60); do curl -fs -m 2 "http://127.0.0.1:$PORT_WEB/" | grep -q stand-in && return 0; sleep 0.5; done
	env_log "port 80 of the gateway does not reach traefik"
	return 1
}

# --- down: exactly what the state file names

# env_stop SECONDS KIND…: SIGTERM to those processes still running (same
# start time), SIGKILL after SECONDS
env_stop() {
	local secs=$1 p s k alive pids= _
	shift
	for k in "$@"; do
		while read -r p s; do env_alive "$p" "$s" && pids="$pids $p"; done < <(awk -v k="$k" '$1 == k {print $2, $3}' "$ENV_STATE")
	done
	[ -n "$pids" ] || return 0
	kill $pids 2>/dev/null
	for _ in $(seq 1 $((secs * 10))); do
		alive=
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && return 0
		sleep 0.1
	done
	kill -9 $pids 2>/dev/null
}

# the recorded cgroups' directories, in every hierarchy (v1 or v2)
env_cgroup_dirs() {
	local c
	for c in $(awk '$1 == "cgroup" {print $2}' "$ENV_STATE"); do
		for d in /sys/fs/cgroup/"$c" /sys/fs/cgroup/*/"$c"; do [ -d "$d" ] && echo "$d"; done
	done
}

# processes left in the lab's namespaces (containerd, shims) and cgroups
# (containers), and recorded ones still running
env_leftovers() {
	local n p s d= ids=
	# one pass over /proc for all the namespaces (ip netns pids makes one
	# each), a few processes in all: down runs this in a loop, under load
	for n in $(awk '$1 == "netns" {print $2}' "$ENV_STATE"); do
		[ -e "/run/netns/$n" ] && d="$d /run/netns/$n"
	done
	[ -z "$d" ] || ids=$(stat -L -c 'net:[%i]' $d)
	[ -z "$ids" ] || find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %p\n' 2>/dev/null |
		awk -v ids="$ids" 'BEGIN { n = split(ids, a, "\n"); for (i = 1; i <= n; i++) want[a[i]] = 1 }
			$1 in want { split($2, p, "/"); print p[3] }'
	d=$(env_cgroup_dirs)
	[ -z "$d" ] || find $d -name cgroup.procs -exec cat {} + 2>/dev/null
	awk '$1 == "pid" || $1 == "dockerd" || $1 == "tmp" {print $2, $3}' "$ENV_STATE" |
		while read -r p s; do env_alive "$p" "$s" && echo "$p"; done
}

env_mounts() { awk -v d="$ENV_DIR/" 'index($5 "/", d) == 1 {print $5}' /proc/self/mountinfo; }

env_down() {
	local n left _ t=$SECONDS times=
	[ -f "$ENV_STATE" ] || return 0
	env_stop 5 pid tmp
	times="daemons $((SECONDS - t)) s" t=$SECONDS
	env_stop 20 dockerd
	times="$times, engines $((SECONDS - t)) s" t=$SECONDS
	for _ in $(seq 1 50); do
		left=$(env_leftovers | sort -u | grep -vx "$$")
		[ -z "$left" ] && break
		kill -9 $left 2>/dev/null
		sleep 0.2
	done
	for n in $(awk '$1 == "netns" {print $2}' "$ENV_STATE"); do
		[ -e "/run/netns/$n" ] && ip netns del "$n"
	done
	left=$(env_cgroup_dirs)
	[ -z "$left" ] || find $left -depth -type d -exec rmdir {} + 2>/dev/null
	env_mounts | sort -r | while read -r m; do umount -l "$m"; done
	times="$times, the rest $((SECONDS - t)) s" t=$SECONDS
	# what is left, named; the files go only when nothing is mounted there
	left=
	for n in $(awk '$1 == "netns" {print $2}' "$ENV_STATE"); do [ -e "/run/netns/$n" ] && left="$left netns:$n"; done
	for n in $(env_leftovers | sort -u); do left="$left pid:$n"; done
	for n in $(env_cgroup_dirs); do left="$left cgroup:$n"; done
	for n in $(env_mounts); do left="$left mount:$n"; done
	[ -z "$left" ] || { env_log "could not remove:$left"; return 1; }
	# the nodes' data roots in parallel: many small files, the time is the disk's
	for n in "$ENV_DIR"/net/*/; do rm -rf --one-file-system "$n" & done
	wait
	rm -rf --one-file-system "$ENV_DIR"
	[ ! -e "$ENV_DIR" ] || { env_log "could not remove $ENV_DIR"; return 1; }
	env_log "removed: $times, files $((SECONDS - t)) s"
}

# --- what to do with it

env_instructions() {
	local d=$NET_DIR/docker01/d.sock
	cat <<-EOF

	The seed articles' environment is up, in network namespaces ($NET_P*), state in $ENV_DIR:
	  gateway   10.0.0.1: dnsmasq (DHCP reservations, DNS), shorewall (port 80 and 8080 forwarded to 10.0.0.2)
	  managers  docker01-03 (10.0.0.3-5), keepalived holding the floating IP 10.0.0.2
	  workers   docker04-06 (10.0.0.6-8); each node got its address from the gateway's DHCP
	  git       http://$ENV_GIT_ADDR/git/origin.git on the LAN, watched by the agent (shoal_agent, on a manager)
	Stand-in images: the lab cannot pull from a registry, so traefik, mongo and kittenapi run
	shoal-lab/standin:1 (busybox httpd on 80 and 8080: traefik's stand-in answers by itself and
	routes nothing); the agent runs shoal:lab, built from this repository's Dockerfile.

	Push a commit and watch the agent apply it (the repository is reached through 127.0.0.1:$PORT_GIT):
	    git clone -q -c user.name=lab -c user.email=lab@example.invalid http://127.0.0.1:$PORT_GIT/git/origin.git shoal-lab-repo
	    cd shoal-lab-repo
	    sed -i 's/replicas: 2/replicas: 3/' stacks/kittenapi/kittenapi.yml
	    git commit -qam 'kittenapi: 3 replicas' && git push -q
	    $SHOAL status --agent http://127.0.0.1:$PORT_AGENT

	The agent polls every 2 s: COMMIT APPLIED becomes your commit and kittenapi shows 3/3.

	Through the gateway's forwarded port 80 (the outside's view, relayed from 127.0.0.1:$PORT_WEB):
	    curl -s http://127.0.0.1:$PORT_WEB/

	The swarm, through a manager's engine:
	    DOCKER_HOST=unix://$d docker service ls

	Remove everything: make lab-down
	EOF
}

# The seed articles' network in namespaces (tests/lab/README.md):
# a LAN bridge, a gateway with the outside on enp0s3 (198.51.100.1) and the
# LAN on enp0s8, an outside namespace (198.51.100.2) and one namespace per
# node, its LAN interface called enp0s3 as on the articles' machines.  Every
# veth is made with both ends inside lab namespaces: the root namespace gets
# no interface and no route, and 10.0.0.0/24 is never touched from it.
# Namespaces are called $NET_P<name>; net_down removes every one of them.
# With NET_STATE set, every namespace, process and cgroup made here is also
# written to that file as it is made (tests/lab/env.sh removes exactly those).
NET_P=${NET_P:-sh$$-}
NET_PIDS=
NET_DIR=${NET_DIR:-$T/net}

ns() { ip netns exec "$NET_P$1" "${@:2}"; }

# proc_start PID: the process's start time (field 22 of /proc/PID/stat), so
# that a recorded PID is never taken for a later process given the same one
proc_start() {
	local s
	read -r s 2>/dev/null < "/proc/$1/stat" || return 1
	set -- ${s##*) }
	echo "${20}"
}

# net_record KIND VALUE…: one line in $NET_STATE (nothing without it);
# "pid", "dockerd" and "tmp" take a PID and add its start time
net_record() {
	[ -n "${NET_STATE:-}" ] || return 0
	case $1 in
	pid|dockerd|tmp) printf '%s %s %s %s\n' "$1" "$2" "$(proc_start "$2")" "${*:3}" >> "$NET_STATE" ;;
	*) printf '%s\n' "$*" >> "$NET_STATE" ;;
	esac
}

# net_ns NAME: a namespace $NET_P<NAME>, recorded
net_ns() { ip netns add "$NET_P$1" && net_record netns "$NET_P$1"; }

net_up() {
	net_ns lan && net_ns gw && net_ns out || return 1
	ns lan ip link add br0 type bridge && ns lan ip link set br0 up && ns lan ip link set lo up || return 1
	ip link add enp0s8 netns "${NET_P}gw" type veth peer name gw netns "${NET_P}lan" || return 1
	ns lan ip link set gw master br0 && ns lan ip link set gw up || return 1
	ip link add enp0s3 netns "${NET_P}gw" type veth peer name eth0 netns "${NET_P}out" || return 1
	ns gw ip addr add 10.0.0.1/24 dev enp0s8 && ns gw ip addr add 198.51.100.1/24 dev enp0s3 || return 1
	ns gw ip link set enp0s8 up && ns gw ip link set enp0s3 up && ns gw ip link set lo up || return 1
	ns gw sysctl -qw net.ipv4.ip_forward=1 || return 1
	ns out ip addr add 198.51.100.2/24 dev eth0 && ns out ip link set eth0 up && ns out ip link set lo up
}

# net_node NAME [ADDRESS]: a namespace on the LAN, routed through the gateway
net_node() {
	net_ns "$1" || return 1
	ip link add enp0s3 netns "$NET_P$1" type veth peer name "$1" netns "${NET_P}lan" || return 1
	ns lan ip link set "$1" master br0 && ns lan ip link set "$1" up || return 1
	ns "$1" ip link set lo up && ns "$1" ip link set enp0s3 up || return 1
	[ -z "${2:-}" ] || { ns "$1" ip addr add "$2/24" dev enp0s3 && ns "$1" ip route add default via 10.0.0.1; }
}

# net_bg NAME COMMAND...: start a daemon in a namespace, its PID recorded
net_bg() {
	setsid ip netns exec "$NET_P$1" "${@:2}" &
	NET_PIDS="$NET_PIDS $!"
	LAST_PID=$!
	net_record pid $! "$1 $2"
}

# stop_pids SECONDS PID…: SIGTERM, wait up to SECONDS, then SIGKILL
stop_pids() {
	local secs=$1; shift
	[ $# -gt 0 ] || return 0
	kill "$@" 2>/dev/null
	for _ in $(seq 1 $((secs * 10))); do
		local alive=
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	kill -9 "$@" 2>/dev/null
}

net_down() {
	net_dockerd_down
	stop_pids 5 $NET_PIDS
	NET_PIDS=
	for n in $(ip netns list | awk '{print $1}' | grep "^$NET_P"); do ip netns del "$n"; done
}

# net_dockerd NAME: a dockerd in node NAME's namespace (tests/lab/README.md: "The bootstrap
# network"): its own mount and UTS namespaces (hostname NAME, a fresh
# sysfs with the cgroups moved back, /var/lib/docker, resolv.conf and hosts
# of its own), data and exec roots and socket under $NET_DIR/NAME.
# Sets NODE_SOCK; the engine is reached only through that unix socket.
# Inside every node, $NET_DIR/self is that node's directory: its socket is
# $NET_DIR/self/d.sock on each node, as /var/run/docker.sock is on a real one.
net_dockerd() {
	local d="$NET_DIR/$1"
	mkdir -p "$d/data" "$d/exec" "$d/lib" "$d/cg" "$d/etc-docker" "$NET_DIR/self" || return 1
	printf 'nameserver 10.0.0.1\n' > "$d/resolv.conf"
	printf '127.0.0.1\tlocalhost\n%s\t%s\n' "${2:-127.0.1.1}" "$1" > "$d/hosts"
	printf '{"deprecated-key-path":"%s/key.json"}\n' "$d" > "$d/daemon.json"
	NODE_SOCK="$d/d.sock"
	setsid nsenter --net="/run/netns/$NET_P$1" unshare --mount --uts --propagation slave -- sh -c '
		d=$1; hostname "$2" || exit 1
		mount --rbind /sys/fs/cgroup "$d/cg" && mount -t sysfs sysfs /sys && mount --move "$d/cg" /sys/fs/cgroup || exit 1
		mount --bind "$d/resolv.conf" /etc/resolv.conf && mount --bind "$d/hosts" /etc/hosts || exit 1
		mkdir -p /var/lib/docker /etc/docker && mount --bind "$d/lib" /var/lib/docker && mount --bind "$d/etc-docker" /etc/docker || exit 1
		mount --bind "$d" "$d/../self" || exit 1
		exec dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
			--pidfile "$d/dockerd.pid" -H "unix://$d/d.sock" --cgroup-parent "/lab-$3$2" --shutdown-timeout 3
	' _ "$d" "$1" "$NET_P" > "$d/dockerd.log" 2>&1 &
	NET_DOCKERDS="${NET_DOCKERDS:-} $!"
	net_record dockerd $! "$1"
	net_record cgroup "lab-$NET_P$1"
}

# wait for the engines started by net_dockerd
net_dockerd_wait() {
	for n in "$@"; do
		for _ in $(seq 1 150); do
			DOCKER_HOST="unix://$NET_DIR/$n/d.sock" docker version >/dev/null 2>&1 && continue 2
			sleep 0.2
		done
		tail -20 "$NET_DIR/$n/dockerd.log"
		return 1
	done
}

net_dockerd_down() {
	[ -n "${NET_DOCKERDS:-}" ] || return 0
	stop_pids 15 $NET_DOCKERDS
	# the nodes' containerd shims, found by their exec roots
	for p in $(pgrep -f "containerd.*$NET_DIR/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	NET_DOCKERDS=
	sleep 0.2
	grep " $NET_DIR/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
	find /sys/fs/cgroup -depth -type d -name "lab-$NET_P*" -exec rmdir {} \; 2>/dev/null
	return 0
}

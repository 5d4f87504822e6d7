# tests/lab/lab.sh - a real single-node swarm for tests, sourced by scripts.
#
# lab_up starts dockerd (Debian's docker.io) inside a network namespace of
# its own, with its own data root, exec root and socket, initialises a
# swarm and imports stand-in images made from busybox-static.  lab_down
# stops exactly what lab_up started and removes every trace.  Nothing here
# touches another engine on the machine.
#
# Exports: LAB_DIR, DOCKER_HOST (unix socket of the lab engine), LAB_IMAGE.

LAB_NS=${LAB_NS:-shoal-lab-$$}
LAB_DIR=${LAB_DIR:-/tmp/shoal-lab-$$}
LAB_IMAGE=shoal-lab/standin:1

lab_log() { printf 'lab: %s\n' "$*" >&2; }

# lab_require COMMAND…: true when every one is there; else name the
# missing ones and what installs them
lab_require() {
	local c miss=
	for c in "$@"; do command -v "$c" >/dev/null || miss="$miss $c"; done
	[ -z "$miss" ] && return 0
	lab_log "missing:$miss (tests/deps test installs what the lab needs; make demo and make test run it)"
	return 1
}

# lab_port: a loopback port for a server a test starts (the next few for
# its peers), below the kernel's range of ephemeral ports (32768-60999 by
# default), where the local end of any outgoing connection may hold it: an
# agent that cannot listen exits ("Address already in use")
lab_port() { echo $((20000 + RANDOM % 12000)); }

lab_down() {
	set +e
	if [ -f "$LAB_DIR/dockerd.pid" ]; then
		local pid; pid=$(cat "$LAB_DIR/dockerd.pid")
		kill "$pid" 2>/dev/null
		for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	fi
	# shims of the lab's own containerd (identified by our exec root)
	# ("$LAB_DIR/": not another lab's /tmp/shoal-lab-PID with more digits)
	for p in $(pgrep -f "containerd-shim.*$LAB_DIR/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	for p in $(pgrep -f "containerd.*$LAB_DIR/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	sleep 0.2
	grep " $LAB_DIR[/ ]" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
	ip netns del "$LAB_NS" 2>/dev/null
	find /sys/fs/cgroup -depth -type d -name "$LAB_NS" -exec rmdir {} \; 2>/dev/null
	rm -rf "$LAB_DIR"
	return 0
}

lab_make_image() {
	# A busybox-static root with a stand-in entrypoint that ignores the
	# service's arguments and serves HTTP, so traefik/mongo/kittenapi
	# stand-ins stay running.
	local root="$LAB_DIR/image"
	mkdir -p "$root/bin" "$root/etc" "$root/www" "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for a in sh httpd sleep cat ls wget echo env true false; do ln -s busybox "$root/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
	printf 'root:x:0:\n' > "$root/etc/group"
	[ -f /etc/services ] && cp /etc/services "$root/etc/services"
	echo "shoal lab stand-in" > "$root/www/index.html"
	cat > "$root/standin" <<'SH'
#!/bin/sh
# stand-in for the real image: run the command when the image has it
# (jobs like "true" then finish), else serve HTTP on 80 and 8080
case "$1" in
/*|"") ;;
*) command -v "$1" >/dev/null 2>&1 && exec "$@" ;;
esac
# PID 1 ignores SIGTERM unless it handles it: without the trap every task
# stop waits out the 10 s grace period
trap 'exit 0' TERM INT
busybox httpd -p 80 -h /www 2>/dev/null
busybox httpd -f -p 8080 -h /www &
wait
SH
	chmod 755 "$root/standin"
	# stand-in for mongosh, which runs repo-template's rs-init hook: no
	# mongo image can be pulled here, so it says what it was given - its
	# arguments, the script, each secret (shoal must scrub them from the
	# hook's output)
	cat > "$root/bin/mongosh" <<'SH'
#!/bin/sh
echo "mongosh stand-in: $*"
while [ $# -gt 1 ]; do shift; done
[ -f "$1" ] && echo "script $1: $(wc -l < "$1") lines, initiates: $(grep -o "_id: 'rs'" "$1")"
for f in /run/secrets/*; do echo "secret $(basename "$f"):"; cat "$f"; echo; done
SH
	chmod 755 "$root/bin/mongosh"
	for a in wc grep; do ln -s busybox "$root/bin/$a"; done
	tar -C "$root" -c . | docker import --change 'ENTRYPOINT ["/standin"]' - "$LAB_IMAGE" >/dev/null
	docker tag "$LAB_IMAGE" shoal-lab/busybox:latest
}

# A CA and server/client certificates for the engine's TLS listener
# (tcp://127.0.0.1:2376 inside the lab namespace).
lab_make_certs() {
	local d="$LAB_DIR/tls"
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=shoal-lab-ca -keyout ca-key.pem -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server-key.pem -out server.csr
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile server.ext -out server-cert.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout key.pem -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' > client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile client.ext -out cert.pem
	) >/dev/null 2>&1
}

# Start the lab's dockerd (again, after a stop: the swarm comes back from
# its data root) and wait until it answers.
lab_dockerd_start() {
	# the engine gets its own /etc/docker (certs.d: registry CAs a test
	# trusts) in a private mount namespace: the machine's stays untouched
	mkdir -p "$LAB_DIR/etc-docker/certs.d" /etc/docker
	unshare --mount --propagation private -- bash -c \
		'mount --bind "$1" /etc/docker || exit 1; shift; exec nsenter --net="/run/netns/$1" "${@:2}"' \
		_ "$LAB_DIR/etc-docker" "$LAB_NS" dockerd \
		--config-file "$LAB_DIR/daemon.json" \
		--data-root "$LAB_DIR/data" --exec-root "$LAB_DIR/exec" \
		--pidfile "$LAB_DIR/dockerd.pid" -H "$DOCKER_HOST" -H tcp://127.0.0.1:2376 \
		--tlsverify --tlscacert "$LAB_DIR/tls/ca.pem" --tlscert "$LAB_DIR/tls/server-cert.pem" \
		--tlskey "$LAB_DIR/tls/server-key.pem" \
		--bridge=none --iptables=false --ip6tables=false \
		--cgroup-parent "/$LAB_NS" --shutdown-timeout 3 \
		>> "$LAB_DIR/dockerd.log" 2>&1 &
	for _ in $(seq 1 150); do
		docker version >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	lab_log "dockerd did not start"; tail -20 "$LAB_DIR/dockerd.log" >&2
	return 1
}

# Stop the lab's dockerd (SIGTERM, as systemctl restart does) and wait for
# it to exit.
lab_dockerd_stop() {
	local pid; pid=$(cat "$LAB_DIR/dockerd.pid" 2>/dev/null) || return 1
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

lab_up() {
	lab_require dockerd docker ip nsenter unshare openssl pgrep || return 1
	# the stand-in images are made of /bin/busybox: it must be static
	if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
		lab_log "no static /bin/busybox (busybox-static; tests/deps installs it)"; return 1
	fi
	mkdir -p "$LAB_DIR"/{data,exec,run}
	ip netns add "$LAB_NS" || return 1
	ip -n "$LAB_NS" link set lo up
	ip link add eth0 netns "$LAB_NS" type veth peer name eth1 netns "$LAB_NS" || return 1
	ip -n "$LAB_NS" link set eth1 up
	ip -n "$LAB_NS" addr add 192.168.250.2/24 dev eth0
	ip -n "$LAB_NS" link set eth0 up
	printf '{"deprecated-key-path":"%s/key.json"}\n' "$LAB_DIR" > "$LAB_DIR/daemon.json"
	lab_make_certs || return 1
	export DOCKER_HOST="unix://$LAB_DIR/run/docker.sock"
	# every curl of a scenario is bounded: a port another program holds
	# (one that accepts and never answers) must fail a wait, not hang it
	printf 'connect-timeout = 10\nmax-time = 120\n' > "$LAB_DIR/.curlrc"
	export CURL_HOME=$LAB_DIR
	lab_dockerd_start || return 1
	docker swarm init --advertise-addr 192.168.250.2 --default-addr-pool 10.201.0.0/16 >/dev/null || return 1
	lab_make_image || return 1
	lab_log "engine $(docker version -f '{{.Server.Version}}') at $DOCKER_HOST"
}

# Wait until a stack has no services, networks, secrets or configs left.
lab_wait_stack_gone() {
	# Network removal is asynchronous in swarm: require the stack to look
	# empty on several consecutive checks before calling it gone.
	local s=$1 empty=0
	for _ in $(seq 1 120); do
		if [ -z "$(docker service ls -q --filter label=com.docker.stack.namespace="$s")" ] &&
		   [ -z "$(docker network ls -q --filter label=com.docker.stack.namespace="$s")" ]; then
			empty=$((empty + 1))
			[ $empty -ge 3 ] && return 0
		else
			empty=0
		fi
		sleep 0.5
	done
	return 1
}

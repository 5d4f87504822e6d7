# The whole environment from repo-template's cluster.yml, in order, on the
# articles' network (net.sh) with one real dockerd per node: the gateway
# (dnsmasq, shorewall), keepalived on the managers, then `shoal bootstrap
# swarm` through each node's engine: init with the address pool, joins
# with the right tokens (never printed), labels, overlay networks, the
# agent's config and secrets, and the agent's stack from the agent image
# (the Dockerfile, built as t-image builds it).  The agent runs on a
# manager and reconciles repo-template from a Git server on the LAN: traefik
# on the managers, kittenapi and mongo on the labelled workers; from the
# outside, port 80 of the gateway reaches traefik on the VIP holder.  A
# second run changes nothing; a node added to the inventory is the only
# one joined.
. "$TOP/tests/lab/lib.sh"
. "$TOP/tests/lab/net.sh"
need dnsmasq shorewall keepalived iptables lighttpd debootstrap socat
agent_image; case $? in 0) ;; 77) echo "debootstrap or socat missing: bootstrap swarm NOT TESTED"; exit 77 ;; *) fail "no agent image" ;; esac
hpid=
trap 'kill $hpid 2>/dev/null; net_down' EXIT
docker save -o standin.tar "$LAB_IMAGE" shoal-lab/busybox:latest && docker save -o shoal.tar shoal:lab || fail "docker save"

net_up || fail "network namespaces"
MANAGERS="docker01 docker02 docker03" WORKERS="docker04 docker05 docker06"
addr() { case $1 in docker0[1-9]) echo "10.0.0.$((${1#docker0} + 2))" ;; esac; }
on() { local n=$1; shift; DOCKER_HOST="unix://$NET_DIR/$n/d.sock" docker "$@"; }

# --- the repository: repo-template, its engines, secrets and agent settings for the lab
net_node git 10.0.0.20 || fail "git namespace"
GIT_NETNS=${NET_P}git GIT_BIND=10.0.0.20 git_server_start || fail "git server did not start"
hpid=$HTTPD_PID
mkdir -p secrets && printf 'no-token-needed' > secrets/git-token && printf 'hook-s3cret' > secrets/webhook-secret
prep_src() {
	cp keys/demo.key "$T/secrets/shoal.key" && chmod 600 "$T/secrets/shoal.key"
	sed -i 's|^SHOAL_IMAGE=.*|SHOAL_IMAGE=shoal:lab|' vars.env
	# each node's own socket, where /var/run/docker.sock is on a real node
	sed -i "s|- [^ ]*docker.sock:|- $NET_DIR/self/d.sock:|" stacks/traefik/traefik.yml stacks/shoal/shoal.yml
	sed -i "s|unix:///run/shoal/\(docker0[0-9]\).sock|unix://$NET_DIR/\1/d.sock|; s|/root/shoal/|$T/secrets/|" cluster.yml
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
}
KEEP_AGENT_STACK=1 SRC_PREP=prep_src src_init
v1=$(git -C src rev-parse HEAD)
INV=$T/src/cluster.yml
grep -q "unix://$NET_DIR/docker06/d.sock" "$INV" || fail "inventory not prepared"

# --- the gateway first: the nodes ask its dnsmasq for names
R=$T/gw-root
mkdir -p "$R/etc/shorewall" "$T/swlib"
printf 'LOCKFILE=%s/sw.lock\nSTARTUP_LOG=%s/sw-start.log\n' "$T" "$T" > "$R/etc/shorewall/shorewall.conf"
gw_sh() { ns gw sh -c "mount --bind '$T/swlib' /var/lib/shorewall && $1"; }
gw_sh "'$SHOAL' bootstrap gateway -f '$INV' --root '$R'" > gw.out 2>&1 || { cat gw.out; fail "bootstrap gateway"; }
printf 'conf-file=%s\nbind-interfaces\nno-resolv\ndhcp-leasefile=%s\npid-file=%s\n' \
	"$R/etc/dnsmasq.d/shoal.conf" "$T/dnsmasq.leases" "$T/dnsmasq.pid" > dnsmasq.conf
net_bg gw dnsmasq -k -C "$T/dnsmasq.conf" > dnsmasq.log 2>&1
gw_sh "shorewall start '$R/etc/shorewall'" > sw.out 2>&1 || { cat sw.out; fail "shorewall start"; }

# --- six nodes, each with its own engine, and keepalived on the managers
for n in $MANAGERS $WORKERS; do
	net_node "$n" "$(addr "$n")" && net_dockerd "$n" "$(addr "$n")" || fail "node $n"
done
net_dockerd_wait $MANAGERS $WORKERS || fail "node engines"
loads=
for n in $MANAGERS $WORKERS; do
	on "$n" load -q -i standin.tar >/dev/null &
	loads="$loads $!"
done
for p in $loads; do wait "$p" || fail "load the stand-in image"; done
for n in $MANAGERS; do on "$n" load -q -i shoal.tar >/dev/null || fail "load the agent image on $n"; done
for n in $MANAGERS; do
	ns "$n" "$SHOAL" bootstrap keepalived -f "$INV" --node "$n" --root "$T/$n" > "ka-$n.out" 2>&1 ||
		{ cat "ka-$n.out"; fail "bootstrap keepalived $n"; }
	net_bg "$n" keepalived -n -l -D -G -P -f "$T/$n/etc/keepalived/keepalived.conf" -i "$n" \
		-p "$T/ka-$n.pid" -r "$T/ka-$n-vrrp.pid" > "keepalived-$n.log" 2>&1
done

# --- the plan, then the swarm
"$SHOAL" bootstrap swarm -f "$INV" --dry-run > dry.out 2>&1 || { cat dry.out; fail "dry run"; }
for l in "init      docker01 (advertise 10.0.0.3, address pool 10.1.0.0/16, subnets /24)" \
	"join      docker02 as manager" "join      docker06 as worker" "label     docker05 usage=apps mongo02=true" \
	"create    network backend (overlay, attachable)" "create    secret shoal-key" "deploy    stack shoal"; do
	grep -qF "$l" dry.out || { cat dry.out; fail "dry run lacks: $l"; }
done
[ "$(on docker01 info -f '{{.Swarm.LocalNodeState}}')" = inactive ] || fail "--dry-run changed the swarm"
# no swarm yet: refused at the first read, at once (no retries), nothing written
printf 'services:\n  s:\n    image: %s\n' "$LAB_IMAGE" > one.yml
not_manager() { # node what
	local t0=$SECONDS
	DOCKER_HOST="unix://$NET_DIR/$1/d.sock" "$SHOAL" stack deploy -c one.yml one > "nm-$1.out" 2>&1 &&
		fail "stack deploy succeeded on $1 ($2)"
	grep -q "not a swarm manager" "nm-$1.out" || { cat "nm-$1.out"; fail "no 'not a swarm manager' on $1 ($2)"; }
	[ $((SECONDS - t0)) -le 5 ] || fail "the refusal on $1 ($2) took $((SECONDS - t0)) s"
	[ -z "$(on "$1" network ls -q --filter name=one_default)" ] || fail "a network was created on $1 ($2)"
}
not_manager docker01 "no swarm"
"$SHOAL" bootstrap swarm -f "$INV" > boot.out 2>&1 || { cat boot.out; fail "bootstrap swarm"; }
cat boot.out
grep -q SWMTKN dry.out boot.out && fail "a join token was printed"
not_manager docker04 "a worker"
on docker01 service inspect one_s >/dev/null 2>&1 && fail "a worker wrote a service"
[ "$(on docker01 node ls --format '{{.Hostname}} {{.ManagerStatus}}' | sort | tr '\n' ' ')" = \
	"docker01 Leader docker02 Reachable docker03 Reachable docker04  docker05  docker06  " ] ||
	{ on docker01 node ls; fail "the swarm is not the inventory's"; }
[ "$(on docker01 node inspect docker05 -f '{{index .Spec.Labels "usage"}} {{index .Spec.Labels "mongo02"}}')" = "apps true" ] ||
	fail "docker05's labels"
for net in frontend backend; do
	[ "$(on docker01 network inspect "$net" -f '{{.Driver}} {{.Scope}} {{.Attachable}}')" = "overlay swarm true" ] || fail "network $net"
	on docker01 network inspect "$net" -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' | grep -q '^10\.1\.' || fail "network $net outside the pool"
done
on docker01 secret ls --format '{{.Name}}' | grep -qx shoal-key || fail "the agent's key secret"
on docker01 config ls --format '{{.Name}}' | grep -qx shoal-agent-conf || fail "the agent's config"

# --- the agent runs on a manager and reconciles the repository
agent_node() { on docker01 service ps shoal_agent -f desired-state=running --format '{{.Node}} {{.CurrentState}}' 2>/dev/null | awk '/Running/ {print $1; exit}'; }
status_field() { # field
	local n; n=$(agent_node); [ -n "$n" ] || return 1
	ns "$n" curl -fs -m 2 http://127.0.0.1:9300/status | python3 -c "import json,sys; v=json.load(sys.stdin)[\"$1\"]; print(v if v is not None else '')" 2>/dev/null
}
for _ in $(seq 1 120); do [ "$(status_field commit_applied)" = "$v1" ] && break; sleep 1; done
[ "$(status_field commit_applied)" = "$v1" ] || {
	on docker01 service ps --no-trunc shoal_agent; on docker01 service logs --raw shoal_agent 2>&1 | tail -30
	fail "the agent did not apply the repository"
}
case "$(agent_node)" in docker0[123]) ;; *) fail "the agent runs on '$(agent_node)', not a manager" ;; esac
running_on() { on docker01 service ps "$1" -f desired-state=running --format '{{.Node}}' | sort | tr '\n' ' '; }
[ "$(running_on traefik_traefik)" = "docker01 docker02 docker03 " ] || fail "traefik on $(running_on traefik_traefik)"
[ "$(running_on mongo_mongo02)" = "docker05 " ] || fail "mongo02 on $(running_on mongo_mongo02)"
for n in $(running_on kittenapi_kittenapi); do case $n in docker0[456]) ;; *) fail "kittenapi on $n" ;; esac; done

# --- from the outside: the gateway's port 80, the VIP, traefik's host-mode port
for _ in $(seq 1 40); do ns docker01 ip -4 addr show enp0s3 | grep -q ' 10.0.0.2/' && break; sleep 0.25; done
for _ in $(seq 1 40); do ns out curl -fs -m 2 http://198.51.100.1/ | grep -q "stand-in" && break; sleep 0.5; done
ns out curl -fs -m 2 http://198.51.100.1/ | grep -q "stand-in" || fail "port 80 from the outside does not reach traefik"

# --- a second run changes nothing
state() {
	on docker01 node ls -q | xargs -r env DOCKER_HOST="unix://$NET_DIR/docker01/d.sock" docker node inspect -f '{{.ID}} {{.Version.Index}}'
	on docker01 network ls -q -f driver=overlay | xargs -r env DOCKER_HOST="unix://$NET_DIR/docker01/d.sock" docker network inspect -f '{{.Name}} {{.Created}}'
	on docker01 service inspect -f '{{.Spec.Name}} {{.Version.Index}}' shoal_agent
}
before=$(state)
"$SHOAL" bootstrap swarm -f "$INV" > again.out 2>&1 || { cat again.out; fail "second run"; }
grep -q "nothing to do" again.out || { cat again.out; fail "the second run planned something"; }
[ "$before" = "$(state)" ] || fail "the second run changed the swarm"

# --- a node added to the inventory is the only one joined
net_node docker07 10.0.0.9 && net_dockerd docker07 10.0.0.9 && net_dockerd_wait docker07 || fail "node docker07"
sed -i "s|^nodes:.*|&\n  docker07: {address: 10.0.0.9, role: worker, engine: unix://$NET_DIR/docker07/d.sock}|" "$INV"
"$SHOAL" bootstrap swarm -f "$INV" > add.out 2>&1 || { cat add.out; fail "adding docker07"; }
cat add.out
[ "$(grep -c '^  [a-z]' add.out)" = 1 ] && grep -q "^  join      docker07 as worker$" add.out || { cat add.out; fail "adding a node planned more than its join"; }
on docker01 node inspect docker07 -f '{{.Status.State}}' | grep -q ready || fail "docker07 did not join"
grep -i "error\|warning" boot.out again.out add.out && fail "errors or warnings from the bootstrap"
echo "$(on docker01 node ls -q | wc -l) nodes; the agent on $(agent_node)"

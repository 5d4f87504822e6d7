# make lab-up and make lab-down (tests/lab-env, tests/lab/env.sh): the seed
# articles' whole environment from repo-template's cluster.yml, on the
# articles' network (net.sh) with one real dockerd per node.  The gateway
# (dnsmasq, shorewall); the nodes get their addresses from its DHCP
# reservations; keepalived on the managers; then `shoal bootstrap swarm`
# through each node's engine: init with the address pool, joins with the
# right tokens (never printed), labels, overlay networks, the agent's
# config and secrets, and the agent's stack from the agent image (the
# Dockerfile).  The agent runs on a manager and reconciles repo-template
# from a Git server on the LAN: traefik on the managers, kittenapi and mongo
# on the labelled workers; from the outside, port 80 of the gateway reaches
# traefik on the VIP holder.  A second run changes nothing; a node added to
# the inventory (and to the gateway's reservations) is the only one joined.
# The commands lab-up prints are run as printed: a commit pushed to the
# lab's Git server is applied by the agent and seen in `shoal status`.
# lab-up twice says it is up; lab-down leaves nothing (no namespace,
# process, mount, cgroup, veth or file), and again does nothing.  A lab-up
# that fails removes what it started, and only that.
. "$TOP/tests/lab/lib.sh"
. "$TOP/tests/lab/net.sh"
need dnsmasq shorewall keepalived iptables lighttpd debootstrap socat busybox
export SHOAL_LAB_ENV=$T/env SHOAL_LAB_NS=le${T##*.}- SHOAL_LAB_BUILD_HOST=$DOCKER_HOST SHOAL_LAB_BUILD_NETNS=$LAB_NS
for _ in $(seq 1 50); do
	SHOAL_LAB_PORT=$((10000 + RANDOM % 9000))
	[ -z "$(ss -Hltn "( sport >= :$SHOAL_LAB_PORT and sport <= :$((SHOAL_LAB_PORT + 2)) )")" ] && break
done
export SHOAL_LAB_PORT
lab_env() { "$TOP/tests/lab-env" "$@"; }
mk() { env -u MAKEFLAGS -u MAKELEVEL make -C "$TOP" --no-print-directory "$@"; }
taken=
trap 'for d in "$T/bad" "$T/part" "$SHOAL_LAB_ENV"; do SHOAL_LAB_ENV=$d lab_env down > /dev/null 2>&1; done
	[ -z "$taken" ] || ip netns del "$taken"' EXIT
veths() { ip -o link show type veth | awk -F': ' '{print $2}' | sort; }
veths_before=$(veths)

# --- a lab-up that fails removes what it started, and only that: here a
# namespace of the lab's name is there already (not the lab's: it stays)
taken=${SHOAL_LAB_NS}gw
ip netns add "$taken" || fail "namespace"
SHOAL_LAB_ENV=$T/bad lab_env up --until net > bad.out 2>&1 && { cat bad.out; fail "lab-up succeeded over a taken name"; }
cat bad.out
grep -q "lab-up failed: removing what it started" bad.out || fail "the failure was not said"
[ -e "/run/netns/$taken" ] || fail "lab-down removed a namespace it had not made"
[ -e "/run/netns/${SHOAL_LAB_NS}lan" ] && fail "the failed lab-up left its namespace"
[ -e "$T/bad" ] && fail "the failed lab-up left its directory"
ip netns del "$taken" && taken=

# --- a lab that is not whole (here a step was interrupted) is removed and
# built again by the next lab-up
SHOAL_LAB_ENV=$T/part lab_env up --until net > part1.out 2>&1 || { cat part1.out; fail "lab-env up --until net"; }
[ -e "/run/netns/${SHOAL_LAB_NS}lan" ] || fail "no lan namespace"
SHOAL_LAB_ENV=$T/part lab_env status > part-status.out 2>&1
[ $? = 2 ] && grep -q "partly up" part-status.out || { cat part-status.out; fail "status of a partial lab"; }
echo "begin gateway" >> "$T/part/state"
SHOAL_LAB_ENV=$T/part lab_env up --until net > part2.out 2>&1 || { cat part2.out; fail "lab-env up on a lab not whole"; }
cat part2.out
grep -q "step 'gateway' was interrupted" part2.out && grep -q "removing it and building it again" part2.out &&
	grep -q "stopped after step net" part2.out || fail "lab-up did not rebuild a lab that is not whole"
[ "$(grep -c '^netns .*lan$' "$T/part/state")" = 1 ] && ! grep -q "begin gateway" "$T/part/state" || fail "the rebuilt lab's state"
SHOAL_LAB_ENV=$T/part lab_env down > part3.out 2>&1 || { cat part3.out; fail "lab-env down of a partial lab"; }
[ -e "/run/netns/${SHOAL_LAB_NS}lan" ] || [ -e "$T/part" ] && fail "the partial lab is left"

# --- everything up to the swarm; the images are built in the lab engine
# (where t-image built them: all cache)
t0=$SECONDS
lab_env up --until relays > up1.out 2>&1 || { cat up1.out; fail "lab-env up --until relays"; }
cat up1.out
ENV_DIR=$SHOAL_LAB_ENV
. "$TOP/tests/lab/env.sh"
env_load
[ -n "$NET_P" ] && [ "$NET_P" = "$SHOAL_LAB_NS" ] || fail "the lab's settings"
R=$ENV_DIR/gw-root

# every node's address is its reservation, from the gateway's DHCP
for n in $ENV_NODES; do
	a=$(env_addr "$n")
	grep -q " $a $n " "$ENV_DIR/dnsmasq.leases" || { cat "$ENV_DIR/dnsmasq.leases"; fail "no DHCP lease of $a for $n"; }
	ns "$n" ip -4 -o addr show dev enp0s3 | grep -q "inet $a/24 .*dynamic" || { ns "$n" ip -4 addr; fail "$n's address is not its lease"; }
	ns "$n" ip -4 route | grep -q "^default via 10.0.0.1 " || fail "$n has no route through the gateway"
done
ns admin ip -4 -o addr show dev enp0s3 | grep -q "inet 10.0.0.2[0-5][0-9]/24 .*dynamic" || fail "admin's address is not from the DHCP range"
grep -q "^dhcp-host=docker06,10.0.0.8," "$R/etc/dnsmasq.d/shoal.conf" || fail "the reservations"

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

# make lab-up goes on: shoal bootstrap swarm, the agent applies the repository
mk lab-up > up2.out 2>&1 || { cat up2.out; fail "make lab-up"; }
cat up2.out
echo "lab-up: $((SECONDS - t0)) s"
cat "$ENV_DIR/boot.out"
grep -q SWMTKN dry.out "$ENV_DIR/boot.out" up1.out up2.out && fail "a join token was printed"
grep -q "^Stand-in images: the lab cannot pull" up2.out || fail "lab-up does not say the images are stand-ins"
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

# --- the agent runs on a manager and reconciled the repository (lab-up waited for it)
v1=$(git -C "$ENV_DIR/src" rev-parse HEAD)
[ "$(env_status_field commit_applied)" = "$v1" ] || fail "the agent did not apply the repository"
agent_node() { on docker01 service ps shoal_agent -f desired-state=running --format '{{.Node}} {{.CurrentState}}' 2>/dev/null | awk '/Running/ {print $1; exit}'; }
case "$(agent_node)" in docker0[123]) ;; *) fail "the agent runs on '$(agent_node)', not a manager" ;; esac
running_on() { on docker01 service ps "$1" -f desired-state=running --format '{{.Node}}' | sort | tr '\n' ' '; }
[ "$(running_on traefik_traefik)" = "docker01 docker02 docker03 " ] || fail "traefik on $(running_on traefik_traefik)"
[ "$(running_on mongo_mongo02)" = "docker05 " ] || fail "mongo02 on $(running_on mongo_mongo02)"
for n in $(running_on kittenapi_kittenapi); do case $n in docker0[456]) ;; *) fail "kittenapi on $n" ;; esac; done

# --- from the outside: the gateway's port 80, the VIP, traefik's host-mode port
for _ in $(seq 1 40); do ns docker01 ip -4 addr show enp0s3 | grep -q ' 10.0.0.2/' && break; sleep 0.25; done
ns docker01 ip -4 addr show enp0s3 | grep -q ' 10.0.0.2/' || fail "the VIP is not on docker01"
for _ in $(seq 1 40); do ns out curl -fs -m 2 http://198.51.100.1/ | grep -q "stand-in" && break; sleep 0.5; done
ns out curl -fs -m 2 http://198.51.100.1/ | grep -q "stand-in" || fail "port 80 from the outside does not reach traefik"

# --- the commands lab-up printed, as printed: push a commit, watch it applied
block() { # heading: the indented commands under it
	awk -v h="$1" 'index($0, h) == 1 { on = 1; next } on && /^    / { sub(/^    /, ""); print; next } on && NF { exit }' up2.out
}
block "Push a commit" > push.sh
block "Through the gateway's forwarded port 80" > curl.sh
block "The swarm, through a manager's engine" > swarm.sh
grep -q '^git clone ' push.sh && grep -q 'status --agent http://127.0.0.1:' push.sh && grep -q '^curl ' curl.sh &&
	grep -q '^DOCKER_HOST=' swarm.sh || { cat up2.out; fail "lab-up did not print the commands"; }
status_cmd=$(grep 'status --agent' push.sh)
mkdir user && (cd user && bash -e "$T/push.sh") > push.out 2>&1 || { cat push.out; fail "the printed push commands"; }
v2=$(git -C user/shoal-lab-repo rev-parse HEAD)
[ "$v2" != "$v1" ] && [ "$(git -C "$ENV_DIR/git/origin.git" rev-parse main)" = "$v2" ] || fail "the commit did not reach the lab's git server"
for _ in $(seq 1 120); do
	bash -c "$status_cmd" > status.out 2>&1
	grep -q "^COMMIT APPLIED *${v2:0:12}" status.out && grep -q "^kittenapi .*kittenapi_kittenapi *3/3 " status.out && break
	sleep 1
done
cat status.out
grep -q "^COMMIT APPLIED *${v2:0:12}" status.out || fail "shoal status does not show the pushed commit applied"
grep -q "^kittenapi .*kittenapi_kittenapi *3/3 " status.out || fail "shoal status does not show kittenapi at 3/3"
[ "$(on docker01 service inspect kittenapi_kittenapi -f '{{.Spec.Mode.Replicated.Replicas}}')" = 3 ] || fail "kittenapi's replicas"
bash -e curl.sh > curl.out 2>&1 && grep -q "stand-in" curl.out || { cat curl.out; fail "the printed curl"; }
bash -e swarm.sh > swarm.out 2>&1 && grep -q "kittenapi_kittenapi *replicated *3/3" swarm.out || { cat swarm.out; fail "the printed docker command"; }

# --- lab-up again: it is up, and says so
t1=$SECONDS
mk lab-up > up3.out 2>&1 || { cat up3.out; fail "make lab-up, again"; }
grep -q "^lab: already up" up3.out && grep -q "^Push a commit" up3.out || { cat up3.out; fail "lab-up again did not say it is up"; }
[ $((SECONDS - t1)) -le 30 ] || fail "lab-up again took $((SECONDS - t1)) s"
lab_env status > status2.out || { cat status2.out; fail "lab-env status"; }

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

# --- a node added to the inventory: the gateway reserves its address, its
# DHCP lease gives it, and it is the only one joined
sed -i "s|^nodes:.*|&\n  docker07: {address: 10.0.0.9, role: worker, engine: unix://$NET_DIR/docker07/d.sock}|" "$INV"
env_gw_sh "'$SHOAL' bootstrap gateway -f '$INV' --root '$R'" > gw2.out 2>&1 || { cat gw2.out; fail "bootstrap gateway with docker07"; }
grep -q "^dhcp-host=docker07,10.0.0.9," "$R/etc/dnsmasq.d/shoal.conf" || { cat gw2.out; fail "no reservation for docker07"; }
env_dnsmasq_restart || fail "dnsmasq restart"
net_node docker07 && a=$(env_dhcp docker07 10.0.0.9) && net_dockerd docker07 "$a" && net_dockerd_wait docker07 || fail "node docker07"
"$SHOAL" bootstrap swarm -f "$INV" > add.out 2>&1 || { cat add.out; fail "adding docker07"; }
cat add.out
[ "$(grep -c '^  [a-z]' add.out)" = 1 ] && grep -q "^  join      docker07 as worker$" add.out || { cat add.out; fail "adding a node planned more than its join"; }
on docker01 node inspect docker07 -f '{{.Status.State}}' | grep -q ready || fail "docker07 did not join"
grep -i "error\|warning" "$ENV_DIR/boot.out" again.out add.out && fail "errors or warnings from the bootstrap"
echo "$(on docker01 node ls -q | wc -l) nodes; the agent on $(agent_node)"

# --- a daemon of the lab gone (admin's DHCP client): status says it is not whole
read -r p s what < <(env_daemons | grep ' admin busybox$') || fail "admin's DHCP client is not recorded"
stop_pids 5 "$p"
lab_env status > status3.out 2>&1
[ $? = 3 ] && grep -q "admin busybox (pid $p) is not running" status3.out || { cat status3.out; fail "status of a lab not whole"; }

# --- make lab-down: nothing of the lab is left
cp "$ENV_STATE" state.saved
t2=$SECONDS
mk lab-down > down.out 2>&1 || { cat down.out; fail "make lab-down"; }
cat down.out
echo "lab-down: $((SECONDS - t2)) s"
for n in $(awk '$1 == "netns" {print $2}' state.saved); do [ -e "/run/netns/$n" ] && fail "namespace $n is left"; done
[ -z "$(ip netns list | grep "^$NET_P")" ] || fail "namespaces are left: $(ip netns list | grep "^$NET_P")"
while read -r p s; do
	[ "$(proc_start "$p")" = "$s" ] && fail "process $p ($(tr '\0' ' ' < "/proc/$p/cmdline")) is left"
done < <(awk '$1 == "pid" || $1 == "dockerd" || $1 == "tmp" {print $2, $3}' state.saved)
for p in /proc/[0-9]*; do
	tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -qF "$ENV_DIR/" && fail "process ${p#/proc/} is left: $(tr '\0' ' ' < "$p/cmdline")"
	grep -qF " $ENV_DIR/" "$p/mountinfo" 2>/dev/null && fail "process ${p#/proc/} holds a mount of the lab"
done
grep -F "$ENV_DIR" /proc/self/mountinfo && fail "mounts are left"
ls -d /sys/fs/cgroup/lab-"$NET_P"* /sys/fs/cgroup/*/lab-"$NET_P"* 2>/dev/null && fail "cgroups are left"
[ "$(veths)" = "$veths_before" ] || fail "veth interfaces in the host's namespace: $(veths)"
[ -z "$(ss -Hltn "( sport >= :$PORT_WEB and sport <= :$PORT_AGENT )")" ] || fail "the lab's ports still listen"
[ -e "$ENV_DIR" ] && fail "$ENV_DIR is left"
# down again: nothing to do
mk lab-down > down2.out 2>&1 || { cat down2.out; fail "make lab-down with nothing up"; }
grep -q "nothing is up" down2.out || { cat down2.out; fail "lab-down with nothing up said nothing"; }
[ -e "$ENV_DIR" ] && fail "lab-down with nothing up made $ENV_DIR"
trap - EXIT
echo "lab-up, a pushed commit applied, lab-down: nothing left"

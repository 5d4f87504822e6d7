# shoal bootstrap gateway and keepalived from repo-template/cluster.yml, on
# the articles' network in namespaces (net.sh): the rendered configs run in
# the real dnsmasq, shorewall and keepalived.  A DHCP client asking as
# docker05 gets its reservation; keepalived puts the floating IP on the
# highest-priority manager and moves it when that one stops; from the
# outside, port 80 of the gateway reaches the VIP holder through the DNAT;
# a second run changes nothing; a bad inventory is refused with its
# position and writes nothing.
. "$TOP/tests/lab/lib.sh"
. "$TOP/tests/lab/net.sh"
need dnsmasq shorewall keepalived iptables
trap net_down EXIT
net_up || fail "network namespaces"
INV=$TOP/repo-template/cluster.yml
R=$T/gw-root
mkdir -p "$R/etc/shorewall" "$R/etc/dhcp" "$T/swlib"
# the operator's own lines stay; the lab keeps shorewall's lock and log here
printf 'LOCKFILE=%s/sw.lock\nSTARTUP_LOG=%s/sw-start.log\nIP_FORWARDING=Keep\n' "$T" "$T" > "$R/etc/shorewall/shorewall.conf"
printf '127.0.0.1\tlocalhost\n10.0.0.99\tgateway old-name\n' > "$R/etc/hosts"
printf 'send host-name = gethostname();\n' > "$R/etc/dhcp/dhclient.conf"
# shorewall keeps its state in /var/lib/shorewall: the gateway's own, here
gw_sh() { ns gw sh -c "mount --bind '$T/swlib' /var/lib/shorewall && $1"; }

# --- a bad inventory: refused with its position, nothing written
sed 's/range: 10.0.0.200-10.0.0.250/range: 10.0.0.5-10.0.0.250/' "$INV" > bad.yml
line=$(grep -n '{address: 10.0.0.5,' bad.yml | cut -d: -f1)
expect_rc 1 gw_sh "'$SHOAL' bootstrap gateway -f '$T/bad.yml' --root '$R'" > bad.out 2>&1
grep -q "bad.yml:$line:[0-9]*: .*10.0.0.5 is inside the DHCP range" bad.out || { cat bad.out; fail "bad inventory error has no position"; }
[ -e "$R/etc/dnsmasq.d/shoal.conf" ] && fail "a bad inventory wrote files"

# --- dry run: the plan, nothing written
gw_sh "'$SHOAL' bootstrap gateway -f '$INV' --root '$R' --dry-run" > dry.out 2>&1 || { cat dry.out; fail "dry run"; }
grep -q "create    /etc/shorewall/rules" dry.out || { cat dry.out; fail "dry run plan"; }
grep -q "^+DNAT net loc:10.0.0.2:80 tcp 80" dry.out || { cat dry.out; fail "dry run diff"; }
[ -e "$R/etc/dnsmasq.d/shoal.conf" ] && fail "--dry-run wrote files"

# --- the gateway: rendered, checked by the real tools, written
gw_sh "'$SHOAL' bootstrap gateway -f '$INV' --root '$R'" > gw.out 2>&1 || { cat gw.out; fail "bootstrap gateway"; }
grep -q "gateway: 9 files written" gw.out || { cat gw.out; fail "files written"; }
grep -q '^LOCKFILE=' "$R/etc/shorewall/shorewall.conf" || fail "the operator's shorewall.conf lines were lost"
grep -q '^IP_FORWARDING=Yes$' "$R/etc/shorewall/shorewall.conf" || fail "IP_FORWARDING not set"
[ "$(grep -c IP_FORWARDING "$R/etc/shorewall/shorewall.conf")" = 1 ] || fail "IP_FORWARDING twice"
grep -q '^127.0.0.1' "$R/etc/hosts" && grep -q "^10.0.0.1	gateway$" "$R/etc/hosts" || fail "hosts entry"
grep -q 10.0.0.99 "$R/etc/hosts" && fail "stale hosts entry kept"
grep -q '^send host-name' "$R/etc/dhcp/dhclient.conf" && grep -q '^prepend domain-name-servers 127.0.0.1;' "$R/etc/dhcp/dhclient.conf" ||
	fail "dhclient.conf"
sums() { find "$R" -type f | sort | xargs md5sum; }
before=$(sums)
gw_sh "'$SHOAL' bootstrap gateway -f '$INV' --root '$R'" > gw2.out 2>&1 || { cat gw2.out; fail "second run"; }
grep -q "nothing to do" gw2.out || { cat gw2.out; fail "second run is not a no-op"; }
[ "$before" = "$(sums)" ] || fail "second run changed files"

# --- the real daemons from the rendered files
cat > dnsmasq.conf <<EOF
conf-file=$R/etc/dnsmasq.d/shoal.conf
bind-interfaces
no-resolv
dhcp-leasefile=$T/dnsmasq.leases
pid-file=$T/dnsmasq.pid
EOF
net_bg gw dnsmasq -k -C "$T/dnsmasq.conf"
gw_sh "shorewall start '$R/etc/shorewall'" > sw.out 2>&1 || { cat sw.out; tail -20 "$T/sw-start.log" 2>/dev/null; fail "shorewall start"; }
ns gw iptables -t nat -S | grep -q "DNAT.*10.0.0.2:80" || fail "no DNAT rule in the gateway"

# DHCP: a client asking as docker05 gets its reservation
net_node dhcp || fail "dhcp client namespace"
printf '#!/bin/sh\n[ "$1" = bound ] && echo "$ip" > %s/lease.ip\nexit 0\n' "$T" > udhcpc.sh && chmod +x udhcpc.sh
ns dhcp timeout 20 busybox udhcpc -i enp0s3 -n -q -f -t 5 -x hostname:docker05 -s "$T/udhcpc.sh" > udhcpc.out 2>&1 ||
	{ cat udhcpc.out; fail "no DHCP lease"; }
[ "$(cat lease.ip)" = 10.0.0.7 ] || fail "docker05 got $(cat lease.ip), not 10.0.0.7"

# --- keepalived on the three managers; a web server on each stands in for traefik
for n in docker01:10.0.0.3 docker02:10.0.0.4 docker03:10.0.0.5; do
	name=${n%%:*}
	net_node "$name" "${n#*:}" || fail "node $name"
	ns "$name" "$SHOAL" bootstrap keepalived -f "$INV" --node "$name" --root "$T/$name" > "ka-$name.out" 2>&1 ||
		{ cat "ka-$name.out"; fail "bootstrap keepalived $name"; }
	mkdir -p "www-$name" && echo "served by $name" > "www-$name/index.html"
	net_bg "$name" busybox httpd -f -p 80 -h "$T/www-$name" > /dev/null 2>&1
	net_bg "$name" keepalived -n -l -D -G -P -f "$T/$name/etc/keepalived/keepalived.conf" -i "$name" \
		-p "$T/ka-$name.pid" -r "$T/ka-$name-vrrp.pid" > "keepalived-$name.log" 2>&1
	eval "ka_$name=\$LAST_PID"
done
grep -q "priority 3" "$T/docker01/etc/keepalived/keepalived.conf" || fail "docker01's priority"
expect_rc 1 "$SHOAL" bootstrap keepalived -f "$INV" --node docker05 --root "$T/docker05" > ka-worker.out 2>&1
grep -q "not a manager" ka-worker.out || fail "keepalived on a worker was not refused"
holder() {
	for n in docker01 docker02 docker03; do
		ns "$n" ip -4 addr show enp0s3 | grep -q ' 10.0.0.2/' && echo "$n"
	done
}
wait_holder() { # node seconds
	for _ in $(seq 1 $(($2 * 4))); do [ "$(holder)" = "$1" ] && return 0; sleep 0.25; done
	return 1
}
wait_holder docker01 20 || fail "the VIP is on '$(holder)', not docker01"
fetch() { ns out curl -s -m 3 http://198.51.100.1/; }
[ "$(fetch)" = "served by docker01" ] || fail "port 80 from the outside did not reach docker01 ($(fetch))"
# the other ports from the outside are dropped
ns out curl -s -m 2 http://198.51.100.1:81/ >/dev/null && fail "port 81 reachable"
# docker01's keepalived stops: the VIP and the traffic move to docker02
kill "$ka_docker01"
wait_holder docker02 15 || fail "the VIP did not move to docker02 (on '$(holder)')"
for _ in $(seq 1 20); do [ "$(fetch)" = "served by docker02" ] && break; sleep 0.5; done
[ "$(fetch)" = "served by docker02" ] || fail "port 80 did not follow the VIP"
echo "gateway, DHCP, DNAT and VIP failover verified"

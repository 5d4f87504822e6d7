# Published ports across services, checked before any write: a renamed
# service keeps its port (the old one is removed first), a stack whose port
# another service already publishes (even one outside any stack), or whose
# own services publish one port twice, is refused whole while the other
# stacks are applied; host-mode services may share a port.
. "$TOP/tests/lab/lib.sh"
mkdir -p r/stacks/web r/stacks/api
svc() { # name port [mode]
	printf '  %s:\n    image: %s\n    command: sleep 3600\n    ports:\n      - target: 80\n        published: %s\n        mode: %s\n' \
		"$1" "$LAB_IMAGE" "$2" "${3:-ingress}"
}
{ echo 'services:'; svc proxy 8080; svc h1 8600 host; svc h2 8600 host; } > r/stacks/web/web.yml
{ echo 'services:'; svc api 9000; } > r/stacks/api/api.yml
"$SHOAL" apply r > a1.txt 2>&1 || { cat a1.txt; fail "first apply"; }
docker service inspect web_h1 web_h2 >/dev/null || fail "two host-mode services on one port refused"
# rename: proxy -> edge, same port
sed -i 's/^  proxy:/  edge:/' r/stacks/web/web.yml
"$SHOAL" apply r > a2.txt 2>&1 || { cat a2.txt; fail "apply of the rename"; }
cat a2.txt
[ "$(grep -n 'Removed service web_proxy' a2.txt | cut -d: -f1)" -lt "$(grep -n 'Created service web_edge' a2.txt | cut -d: -f1)" ] ||
	fail "the port's old owner was not removed first"
docker service inspect web_proxy >/dev/null 2>&1 && fail "web_proxy left"
[ "$(docker service inspect -f '{{range .Endpoint.Ports}}{{.PublishedPort}}{{end}}' web_edge)" = 8080 ] || fail "web_edge has not got 8080"
# a service outside any stack holds 7000; stack clash wants it, and its two
# services want 8500 both; api changes at the same time
docker service create -d -q --name foreign -p 7000:80 "$LAB_IMAGE" sleep 3600 >/dev/null || fail "docker service create"
mkdir -p r/stacks/clash
{ echo 'services:'; svc c 7000; svc d1 8500; svc d2 8500; } > r/stacks/clash/clash.yml
sed -i 's/published: 9000/published: 9001/' r/stacks/api/api.yml
before=$(all_versions | grep -v '^api_api ')
"$SHOAL" apply r > a3.txt 2>&1; rc=$?
cat a3.txt
[ $rc != 0 ] || fail "apply with a port conflict succeeded"
grep -q 'service clash_c publishes port 7000/tcp in ingress mode, and service foreign publishes it' a3.txt || fail "conflict with foreign not named"
grep -q 'service clash_d1 publishes port 8500/tcp in ingress mode, and service clash_d2 publishes it' a3.txt || fail "conflict inside the stack not named"
grep -q 'stack clash is invalid' a3.txt || fail "stack clash not refused"
docker network inspect clash_default >/dev/null 2>&1 && fail "clash half applied: its network exists"
[ -z "$(docker service ls -q --filter label=com.docker.stack.namespace=clash)" ] || fail "clash half applied: services exist"
[ "$(docker service inspect -f '{{range .Spec.EndpointSpec.Ports}}{{.PublishedPort}}{{end}}' api_api)" = 9001 ] || fail "the valid stack was not applied"
diff <(echo "$before") <(all_versions | grep -v '^api_api ') || fail "something else was written"
docker service rm foreign >/dev/null
true

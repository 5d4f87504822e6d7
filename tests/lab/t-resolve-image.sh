# --resolve-image against a real registry (Debian's docker-registry on the
# lab namespace's loopback): always pins name:tag@digest and the platforms
# exactly as docker CLI 28 does; changed asks the registry nothing when the
# tag did not change; an unreachable registry warns and deploys the tag.
. "$TOP/tests/lab/lib.sh"
need docker-registry
compare_cli || exit 77
cat > reg.yml <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $T/registry}}
http: {addr: 127.0.0.1:5000}
log: {level: info, accesslog: {disabled: false}}
YML
nsenter --net=/run/netns/"$LAB_NS" docker-registry serve reg.yml > registry.log 2>&1 &
rpid=$!
trap 'kill $rpid 2>/dev/null' EXIT
for _ in $(seq 1 50); do grep -q 'listening on' registry.log && break; sleep 0.1; done
docker tag "$LAB_IMAGE" 127.0.0.1:5000/app:1
docker push 127.0.0.1:5000/app:1 >/dev/null || { cat registry.log; fail "push"; }
digest=$(docker image inspect -f '{{index .RepoDigests 0}}' 127.0.0.1:5000/app:1 | sed 's/.*@//')
printf 'version: "3.8"\nservices:\n  s:\n    image: 127.0.0.1:5000/app:1\n' > a.yml
"$SHOAL" stack deploy -c a.yml rs > d1.txt 2>&1 || { cat d1.txt; fail "deploy"; }
img=$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' rs_s)
[ "$img" = "127.0.0.1:5000/app:1@$digest" ] || fail "not pinned: $img (digest $digest)"
plat=$(docker service inspect -f '{{json .Spec.TaskTemplate.Placement.Platforms}}' rs_s)
"$DOCKER28" stack deploy -c a.yml rd >/dev/null 2>&1 || fail "docker deploy"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' rd_s)" = "$img" ] || fail "docker pins differently"
[ "$(docker service inspect -f '{{json .Spec.TaskTemplate.Placement.Platforms}}' rd_s)" = "$plat" ] || fail "platforms differ: $plat"
# unchanged tag, mode changed: no registry request, no write
before_req=$(grep -c 'GET /v2/' registry.log)
before=$(svc_versions)
"$SHOAL" stack deploy --resolve-image changed -c a.yml rs > d2.txt 2>&1 || fail "redeploy changed"
grep -q 'up to date' d2.txt || { cat d2.txt; fail "changed mode wrote"; }
[ "$(grep -c 'GET /v2/' registry.log)" = "$before_req" ] || fail "changed mode asked the registry"
# always: asks, finds the same digest, writes nothing
"$SHOAL" stack deploy -c a.yml rs > d3.txt 2>&1 || fail "redeploy always"
grep -q 'up to date' d3.txt || { cat d3.txt; fail "always mode wrote for the same digest"; }
[ "$before" = "$(svc_versions)" ] || fail "versions moved"
# the tag moves: always pins the new digest
printf 'FROM scratch\n' >/dev/null
docker tag shoal-lab/busybox:latest 127.0.0.1:5000/app:1
echo moved > moved.txt
tar -c moved.txt | docker import - 127.0.0.1:5000/app:1 >/dev/null
docker push 127.0.0.1:5000/app:1 >/dev/null || fail "push 2"
"$SHOAL" stack deploy -c a.yml rs > d4.txt 2>&1 || fail "deploy moved tag"
img2=$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' rs_s)
[ "$img2" != "$img" ] && [ "${img2%@*}" = 127.0.0.1:5000/app:1 ] || fail "moved tag not followed: $img2"
# registry gone: a warning, the tag is deployed
kill $rpid; wait $rpid 2>/dev/null
printf 'version: "3.8"\nservices:\n  s:\n    image: 127.0.0.1:5000/other:2\n' > b.yml
"$SHOAL" stack deploy -c b.yml rs2 > d5.txt 2>&1 || { cat d5.txt; fail "deploy without registry"; }
grep -q 'could not be accessed on a registry' d5.txt || fail "no warning"
[ "$(docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' rs2_s)" = 127.0.0.1:5000/other:2 ] || fail "tag not deployed"

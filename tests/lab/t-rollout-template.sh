# repo-template's rollout: mongo, then its post-deploy hook rs-init (once
# mongo01-03 run), then kittenapi (x-shoal.depends_on: [mongo]).  No mongo
# image can be pulled here: the lab's stand-in image runs the hook's
# command with a mongosh stand-in that prints what it was given (its
# arguments, the script, the secrets); the secrets must come out scrubbed.  A real replica set is not started here.
. "$TOP/tests/lab/lib.sh"
make_repo repo
"$SHOAL" plan repo > plan.txt; cat plan.txt
grep -q '^  wave 1: mongo (post-hook mongo_rs-init), traefik$' plan.txt || fail "plan: wave 1"
grep -q '^  wave 2: kittenapi (after mongo)$' plan.txt || fail "plan: wave 2"
"$SHOAL" apply repo > apply.txt 2>&1 || { cat apply.txt; fail "apply"; }
cat apply.txt
grep -q '^Hook mongo_rs-init (post) succeeded, output:$' apply.txt || fail "rs-init did not run"
grep -q '^  | mongosh stand-in: --nodb --quiet --file /etc/shoal/rs-init.js$' apply.txt || fail "mongosh arguments"
grep -q "^  | script /etc/shoal/rs-init.js: [0-9]* lines, initiates: _id: 'rs'$" apply.txt || fail "the script was not given"
for s in mongo-keyfile mongo-admin-password mongo-kittenapi-password; do
	# the line after the name: the value, as the scrubber shows a sealed one
	grep -A1 "^  | secret $s:$" apply.txt | tail -1 | grep -q '^  | (sealed [0-9a-f]\{12\})' ||
		fail "secret $s not given, or not scrubbed"
	v=$("$SHOAL" unseal --key "$SHOAL_KEY_FILE" --stack mongo --name $s --in repo/stacks/mongo/$s.sealed | head -1)
	grep -qF -- "$v" apply.txt && fail "the value of $s shown"
done
# the order, from the engine: members running < rs-init ends < kittenapi created
python3 - "$(docker inspect $(docker service ps -q --filter desired-state=running mongo_mongo01 mongo_mongo02 mongo_mongo03))" \
	"$(docker inspect $(docker service ps -q mongo_rs-init))" "$(docker service inspect kittenapi_kittenapi)" <<'PY' || fail "order"
import json, sys, re, calendar
def ts(s):
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z", s)
    return calendar.timegm(tuple(map(int, m.groups()[:6]))) + float("0." + (m.group(7) or "0"))
members, hook, app = (json.loads(a) for a in sys.argv[1:])
running = max(ts(t["Status"]["Timestamp"]) for t in members if t["Status"]["State"] == "running")
hook_start = min(ts(t["CreatedAt"]) for t in hook)
hook_end = max(ts(t["Status"]["Timestamp"]) for t in hook if t["Status"]["State"] == "complete")
created = ts(app[0]["CreatedAt"])
print(f"members running {running:.3f}, rs-init task {hook_start:.3f} - {hook_end:.3f}, kittenapi created {created:.3f}")
assert hook_start >= running, "rs-init ran before the members ran"
assert created >= hook_end, "kittenapi was created before rs-init completed"
PY
# nothing changed: nothing written, the hook not run
"$SHOAL" apply repo > apply2.txt 2>&1 || { cat apply2.txt; fail "no-op apply"; }
grep -q '(0 write requests;' apply2.txt || { cat apply2.txt; fail "no-op apply wrote"; }
grep -q '^Hook' apply2.txt && fail "the hook ran with nothing changed"
# kittenapi alone changes: mongo's hook does not run
printf 'KITTENAPI_IMAGE=shoal-lab/busybox:latest\n' > repo/stacks/kittenapi/vars.env
"$SHOAL" apply repo > apply3.txt 2>&1 || { cat apply3.txt; fail "kittenapi apply"; }
grep -q '^Hook' apply3.txt && fail "mongo's hook ran for a change of kittenapi"
grep -q '(1 write request;' apply3.txt || { cat apply3.txt; fail "kittenapi change: expected one write"; }
true

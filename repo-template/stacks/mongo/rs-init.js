// The mongo stack's post-deploy hook (service rs-init, io.shoal.hook: post),
// run by mongosh once the three members run, after every change of the
// stack and before kittenapi (which depends on mongo) is written: it
// initiates the replica set "rs" and creates the admin and kittenapi users
// from the sealed credentials, each only when missing - running it again
// changes nothing.
//
// Before any user exists, the members' shared keyfile is the only
// credential: it authenticates the cluster's internal user (__system, in
// the local database), the way the members authenticate to each other.
// Nothing here prints a credential (shoal scrubs a hook's output anyway).
const fs = require('fs');
const secret = (name) => fs.readFileSync('/run/secrets/' + name, 'utf8');
const keyfile = secret('mongo-keyfile').replace(/\s/g, '');
const members = ['mongo01:27017', 'mongo02:27017', 'mongo03:27017'];

function adminDb(host) {
	const conn = new Mongo('mongodb://' + host + '/?directConnection=true');
	if (!conn.getDB('local').auth('__system', keyfile))
		throw new Error(host + ': the keyfile does not authenticate');
	return conn.getDB('admin');
}

// members start at their own pace: try for two minutes
function retry(what, fn) {
	for (let i = 0; ; i++) {
		try {
			return fn();
		} catch (e) {
			if (i >= 120)
				throw new Error(what + ': ' + e.message);
			sleep(1000);
		}
	}
}

const first = retry('connect to ' + members[0], () => adminDb(members[0]));
const status = first.runCommand({replSetGetStatus: 1});
if (status.ok) {
	print('replica set rs: already initiated');
} else if (status.codeName === 'NotYetInitialized') {
	const cfg = {_id: 'rs', members: members.map((host, i) => ({_id: i, host: host}))};
	const r = first.runCommand({replSetInitiate: cfg});
	if (!r.ok)
		throw new Error('replica set rs: ' + r.errmsg);
	print('replica set rs: initiated with ' + members.join(', '));
} else {
	throw new Error('replica set rs: ' + status.errmsg);
}

const primary = retry('find the primary', () => {
	const hello = first.runCommand({hello: 1});
	if (!hello.isWritablePrimary && !hello.primary)
		throw new Error('no primary yet');
	return hello.primary || members[0];
});
const admin = adminDb(primary);

function ensureUser(user, password, roles) {
	if (admin.getUser(user)) {
		print('user ' + user + ': exists');
		return;
	}
	admin.createUser({user: user, pwd: password, roles: roles});
	print('user ' + user + ': created');
}
ensureUser('admin', secret('mongo-admin-password'), ['root']);
ensureUser('kittenapi', secret('mongo-kittenapi-password'), [{role: 'readWrite', db: 'kittenapi'}]);

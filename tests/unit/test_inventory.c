#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../bootstrap/inventory.h"
#include "../../reconcile/util.h"

#define TEMPLATE TOP "/repo-template/cluster.yml"

/* The template with the first `from` replaced by `to`, in a scratch file. */
static char *mutated(const char *from, const char *to)
{
	char *s = NULL;
	assert_int_equal(read_file(TEMPLATE, 1 << 20, &s, NULL), 0);
	const char *at = strstr(s, from);
	if (!at)
		fail_msg("%s not in the template", from);
	size_t off = strlen(s) - strlen(at);
	char *path = xstrdup("/tmp/test_inventory.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "%.*s%s%s", (int)off, s, to, s + off + strlen(from));
	fclose(f);
	free(s);
	return path;
}

/* The 1-based line of the first occurrence of text in file. */
static int line_of(const char *file, const char *text)
{
	char *s = NULL;
	assert_int_equal(read_file(file, 1 << 20, &s, NULL), 0);
	char *at = strstr(s, text);
	assert_non_null(at);
	int line = 1;
	for (char *p = s; p < at; p++)
		line += *p == '\n';
	free(s);
	return line;
}

/* Loading the template with from -> to fails with an error containing msg
 * on the line of `to` (or of `at` when given). */
static void refused(const char *from, const char *to, const char *at, const char *msg)
{
	char *path = mutated(from, to);
	struct inventory inv;
	struct diags d = {0};
	if (inventory_load(path, &inv, &d) == 0)
		fail_msg("taken: %s", to);
	int want_line = line_of(path, at ? at : to), found = 0;
	for (size_t i = 0; i < d.n; i++)
		if (strstr(d.v[i].msg, msg) && d.v[i].line == want_line && d.v[i].col > 0)
			found = 1;
	if (!found) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  %d:%d: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
		fail_msg("no \"%s\" on line %d", msg, want_line);
	}
	diags_free(&d);
	inventory_free(&inv);
	unlink(path);
	free(path);
}

static void test_template(void **state)
{
	(void)state;
	struct inventory inv;
	struct diags d = {0};
	assert_int_equal(inventory_load(TEMPLATE, &inv, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_string_equal(inv.gw_address, "10.0.0.1");
	assert_string_equal(inv.lan, "10.0.0.0/24");
	assert_string_equal(inv.dhcp_start, "10.0.0.200");
	assert_string_equal(inv.dhcp_end, "10.0.0.250");
	assert_string_equal(inv.vip, "10.0.0.2");
	assert_int_equal(inv.nnodes, 6);
	const struct inv_node *n = inventory_node(&inv, "docker05");
	assert_non_null(n);
	assert_string_equal(n->address, "10.0.0.7");
	assert_false(n->manager);
	assert_int_equal(n->nlabels, 2);
	n = inventory_node(&inv, "docker01");
	assert_true(n->manager);
	assert_int_equal(n->priority, 3);
	assert_int_equal(inv.nforwards, 2);
	assert_int_equal(inv.forwards[1].port, 8080);
	assert_int_equal(inv.nnetworks, 2);
	assert_string_equal(inv.agent_stack, "shoal");
	assert_int_equal(inv.nagent_secrets, 3);
	inventory_free(&inv);
	diags_free(&d);
}

static void test_refused(void **state)
{
	(void)state;
	refused("  hostname: gateway", "  hostnme: gateway", NULL, "hostnme");
	refused("address: 10.0.0.1/24", "address: 10.0.0.1/33", NULL, "10.0.0.1/33");
	refused("range: 10.0.0.200-10.0.0.250", "range: 10.0.0.250-10.0.0.200", NULL, "range");
	refused("{address: 10.0.0.4,", "{address: 10.0.1.4,", NULL, "not inside 10.0.0.0/24");
	refused("{address: 10.0.0.4,", "{address: 10.0.0.3,", "10.0.0.3, role: manager, priority: 2", "also docker01's");
	refused("{address: 10.0.0.4,", "{address: 10.0.0.1,", NULL, "the gateway's");
	refused("address: 10.0.0.2 ", "address: 10.0.0.210 ", NULL, "inside the DHCP range");
	refused("address: 10.0.0.8", "address: 10.0.0.220", NULL, "inside the DHCP range");
	refused("role: worker", "role: wroker", NULL, "manager or worker");
	refused("    role: worker\n", "    role: worker\n    priority: 4\n", "priority: 4", "for managers");
	refused("address_pool: 10.1.0.0/16", "address_pool: 10.0.0.0/8", NULL, "overlaps the LAN");
	refused("- tcp 8080", "- tcp 80800", NULL, "tcp|udp PORT");
	refused("router_id: 51", "router_id: 300", NULL, "router_id");
	refused("engine: unix:///run/shoal/docker02.sock", "engine: ssh://docker02", NULL, "is not unix:///PATH");
}

static void test_structure(void **state)
{
	(void)state;
	/* forwards without a floating IP, and a file that is not a mapping */
	char *path = xstrdup("/tmp/test_inventory.XXXXXX");
	int fd = mkstemp(path);
	const char *text = "gateway:\n  external_interface: a\n  internal_interface: b\n  address: 10.0.0.1/24\n"
			   "  dhcp: {range: 10.0.0.200-10.0.0.250}\n  policy: [net all DROP]\n  forwards: [tcp 80]\n"
			   "nodes:\n  n1: {address: 10.0.0.3, role: manager}\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct inventory inv;
	struct diags d = {0};
	assert_int_equal(inventory_load(path, &inv, &d), -1);
	assert_int_equal(d.v[0].line, 7);
	assert_non_null(strstr(d.v[0].msg, "vip section"));
	diags_free(&d);
	inventory_free(&inv);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "- a\n- b\n", 8), 8);
	close(fd);
	assert_int_equal(inventory_load(path, &inv, &d), -1);
	assert_non_null(strstr(d.v[0].msg, "must be a mapping"));
	diags_free(&d);
	inventory_free(&inv);
	unlink(path);
	free(path);
}

/* ---------------- grammars (issue 15, item 3) ---------------- */

#define LONG100 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG300 LONG100 LONG100 LONG100
/* Hostile values as YAML source.  CONTROL: refused by every field, free
 * text included; SYNTAX: refused by every name, address and number. */
static const char *const control[] = {
	"\"x\\ndhcp-script=/tmp/pwn\"",		/* a newline: a line of its own */
	"\"x\\rnotify_master /tmp/pwn\"",	/* CR */
	"\"x\\ty\"",				/* tab */
	"\"x\\x01y\"",				/* other controls */
	"\"x\\x7fy\"",
	"\"x\\e[2Jy\"",				/* a terminal escape */
	"\"x\\u0085y\"",			/* NEL (C1) */
	"\"x\\u2028?SHELL /tmp/pwn\"",		/* unicode line separator */
	"\"x\\u202ey\"",			/* right-to-left override */
	"\"x\\ufeffy\"",			/* zero-width no-break space */
	"\"" LONG300 LONG300 LONG300 LONG300 LONG300 LONG300 LONG300 LONG300 LONG300 LONG300 LONG300 LONG300 LONG300
	LONG300 LONG300 LONG300 LONG300 "\"",	/* 5100 bytes */
	NULL,
};
static const char *const syntax[] = {
	"\"$(touch /tmp/pwn)\"", "\"`touch /tmp/pwn`\"", "\"x\\\"y\"", "\"x'y\"", "\"x #y\"", "\"x;y\"", "\"x y\"",
	"\"x,y\"", "\"x=y\"", "\"-x\"", "\"--help\"", "\"?SHELL /tmp/pwn\"", "\"INCLUDE /etc/shadow\"", "\"${IFS}\"",
	"\"x\\u00e9\"", "\"x\\\\\"", "\"x{y}\"", "\"x*\"", "\"x+\"", "\"@x\"", "\"" LONG300 "\"", NULL,
};

/* The template with from replaced by before VALUE after is refused with
 * msg on the value's line (at: a text on that line when VALUE is not). */
static void refused_each(const char *const *values, const char *from, const char *before, const char *after,
			 const char *at, const char *msg)
{
	for (const char *const *v = values; *v; v++) {
		char *to = xasprintf("%s%s%s", before, *v, after);
		char *line = xasprintf("%s%s", before, *v);
		refused(from, to, at ? at : line, msg);
		free(line);
		free(to);
	}
}

static void refused_all(const char *from, const char *before, const char *after, const char *at, const char *msg)
{
	refused_each(control, from, before, after, at, msg);
	refused_each(syntax, from, before, after, at, msg);
}

/* The same for a mapping's keys: YAML's implicit keys are 1024 bytes at
 * most, the long value is left out. */
static void refused_keys(const char *from, const char *before, const char *after, const char *msg)
{
	for (const char *const *v = control; *v; v++) {
		if (strlen(*v) > 1000)
			continue;
		char *to = xasprintf("%s%s%s", before, *v, after);
		refused(from, to, NULL, msg);
		free(to);
	}
	refused_each(syntax, from, before, after, NULL, msg);
}

static void test_grammar_hostname(void **state)
{
	(void)state;
	refused_all("hostname: gateway", "hostname: ", "", NULL, "hostname");
	/* the issue's: a hosts entry for any domain */
	refused("hostname: gateway", "hostname: \"gateway\\n6.6.6.6\\tupdates.example.com\"", NULL, "hostname");
	static const char *const names[] = {"-gw", "gw-", "a..b", "gw_1", ".gw", "gw.", "\"1.2.3.4 evil\"",
					    "a" LONG300, NULL};
	refused_each(names, "hostname: gateway", "hostname: ", "", NULL, "RFC 1123");
}

static void test_grammar_interfaces(void **state)
{
	(void)state;
	static const char *const ifs[] = {"\"enp0s3\\n?SHELL /tmp/pwn; true #\"", "a/b", "\"a:b\"", ".", "..", "eth+",
					  "sixteen-chars-xx", "\"eth 0\"", "$IF", "-eth0", "_eth0", NULL};
	refused_all("external_interface: enp0s3", "external_interface: ", "", NULL, "external_interface");
	refused_each(ifs, "external_interface: enp0s3", "external_interface: ", "", NULL, "interface name");
	refused_all("internal_interface: enp0s8", "internal_interface: ", "", NULL, "internal_interface");
	refused_each(ifs, "internal_interface: enp0s8", "internal_interface: ", "", NULL, "interface name");
	refused("internal_interface: enp0s8", "internal_interface: enp0s3", NULL, "also the external interface");
	/* vip.interface: the keepalived notify_master */
	refused("  interface: enp0s3", "  interface: \"enp0s3\\n    notify_master \\\"/tmp/pwn\\\"\"", NULL, "interface");
	refused_all("  interface: enp0s3", "  interface: ", "", NULL, "interface");
	refused_each(ifs, "  interface: enp0s3", "  interface: ", "", NULL, "interface name");
}

static void test_grammar_node_names(void **state)
{
	(void)state;
	/* the issue's: a dnsmasq dhcp-script run as root */
	refused("  docker06:", "  \"docker06\\ndhcp-script=/tmp/pwn\":", NULL, "nodes");
	refused_keys("  docker06:", "  ", ":", "nodes");
	/* what dnsmasq's dhcp-host reads as something else than a name */
	static const char *const names[] = {"12", "30m", "2W", "infinite", "ignore", "\"id:x\"", "docker.06", "-d6",
					    "d6-", "d_6", NULL};
	refused_each(names, "  docker06:", "  ", ":", NULL, "node name");
	refused("  docker06:", "  DOCKER01:", NULL, "listed twice");
}

static void test_grammar_addresses(void **state)
{
	(void)state;
	refused_all("address: 10.0.0.1/24", "address: ", "", NULL, "address");
	static const char *const gw[] = {"\"10.0.0.1/24\\n?SHELL x\"", "10.0.0.1/+24", "10.0.0.1/024", "10.0.0.1/",
					 "010.0.0.1/24", "10.0.0.1/24/8", "10.0.0.0/24", "10.0.0.255/24", "10.0.0.1",
					 "10.0.0.1/31", "::1/64", NULL};
	refused_each(gw, "address: 10.0.0.1/24", "address: ", "", NULL, "address");
	refused_all("{address: 10.0.0.4,", "{address: ", ",", NULL, "address");
	static const char *const node[] = {"10.0.0.04", "10.0.0.4/24", "\" 10.0.0.4\"", "10.0.0.4.5", "0x0a000004",
					   "167772164", NULL};
	refused_each(node, "{address: 10.0.0.4,", "{address: ", ",", NULL, "not inside");
	refused_all("address: 10.0.0.2 ", "address: ", " ", NULL, "vip");
	refused_all("range: 10.0.0.200-10.0.0.250", "range: ", "", NULL, "range");
	static const char *const range[] = {"10.0.0.200-10.0.0.250,x", "\"10.0.0.200 -10.0.0.250\"", "10.0.0.200",
					    "10.0.0.200-", "-10.0.0.250", "10.0.0.200-10.0.0.250-10.0.0.251", NULL};
	refused_each(range, "range: 10.0.0.200-10.0.0.250", "range: ", "", NULL, "range");
	refused_all("address_pool: 10.1.0.0/16", "address_pool: ", "", NULL, "address_pool");
	refused("address_pool: 10.1.0.0/16", "address_pool: 10.1.0.0/16x", NULL, "address_pool");
}

static void test_grammar_lease(void **state)
{
	(void)state;
	refused_all("lease: 1h", "lease: ", "", NULL, "lease");
	static const char *const leases[] = {"\"1h\\ndhcp-script=/tmp/pwn\"", "1h30m", "1.5h", "90", "1m", "-1h",
					     "0x10m", "01h", "99999999999w", "1H", "1y", "infinity", NULL};
	refused_each(leases, "lease: 1h", "lease: ", "", NULL, "lease time");
}

static void test_grammar_policy(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"\"?SHELL /tmp/pwn\"", "\"?PERL system('/tmp/pwn')\"", "\"?BEGIN PERL\"", "\"INCLUDE /etc/shadow\"",
		"\"net all DROP info\\n?SHELL /tmp/pwn\"", "\"net all DROP info\\r?SHELL /tmp/pwn\"",
		"\"net all DROP ?SHELL\"", "\"net all DROP info extra\"", "\"net all\"", "\"net all DROP:Drop\"",
		"\"net:10.0.0.1 all DROP\"", "\"evil all DROP\"", "\"net all DROP info \\\\\"", "\"net all DROP #x\"",
		"\"net all DROP $(touch /tmp/pwn)\"", "\"net all ACCEPT\\u2028?SHELL x\"", "\"\"", NULL,
	};
	refused_each(lines, "- net all DROP info", "- ", "", NULL, "policy");
	refused_each(control, "- net all DROP info", "- ", "", NULL, "policy");
}

static void test_grammar_rules(void **state)
{
	(void)state;
	static const char *const lines[] = {
		/* the issue's: only the text before ':' was checked */
		"\"?SHELL all:;/tmp/pwn${IFS}x;true${IFS}|| fw\"",
		"\"?SHELL /tmp/pwn\"", "\"?PERL system('/tmp/pwn')\"", "\"?BEGIN PERL\"", "\"INCLUDE /etc/shadow\"",
		"\"?INCLUDE /etc/shadow\"", "\"?SECTION NEW\"", "\"ACCEPT net fw\\n?SHELL /tmp/pwn\"",
		"\"ACCEPT net fw tcp 22 \\\\\"", "\"ACCEPT net:;/tmp/pwn fw\"", "\"ACCEPT net fw ; -j ACCEPT\"",
		"\"INLINE net fw ; -j LOG\"", "\"IPTABLES(-j ACCEPT) net fw\"", "\"SHELL(ACCEPT) net fw\"",
		"\"Include(ACCEPT) net fw\"", "\"ACCEPT(DROP net fw\"", "\"(ACCEPT) net fw\"", "\"ACCEPT:evil net fw\"",
		"\"ACCEPT {source=net} fw\"", "\"ACCEPT evil fw\"", "\"ACCEPT net fw:10.0.0.2:80\"",
		"\"ACCEPT net:10.0.0.0/33 fw\"", "\"ACCEPT net fw tcp 65536\"", "\"ACCEPT net fw tcp 80:22\"",
		"\"ACCEPT net fw tcp 22,,80\"", "\"ACCEPT net fw tcp 22 #x\"", "\"ACCEPT net fw tcp $(id)\"",
		"\"ACCEPT net fw tcp `id`\"", "\"ACCEPT net fw tcpx 22\"", "\"ACCEPT net fw 256\"",
		"\"ACCEPT net fw tcp 22 1024 - extra\"", "\"ACCEPT net fw tcp 22 - - - -\"", "\"ACCEPT net\"",
		"\"ACCEPT net fw icmp 8/300\"", "\"ACCEPT net fw tcp -ssh\"", "\"REDIRECT loc x tcp 80\"",
		"\"ACCEPT $FWX fw\"", "\"ACCEPT net fw tcp 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\"", NULL,
	};
	refused_each(lines, "- ACCEPT net fw tcp 22", "- ", "", NULL, "rules");
	refused_each(control, "- ACCEPT net fw tcp 22", "- ", "", NULL, "rules");
	static const char *const forwards[] = {"\"tcp 80\\n?SHELL x\"", "\"tcp  80\"", "\"tcp +80\"", "\"tcp 080\"",
					       "\"tcp 80:\"", "\"tcp 80:0\"", "\"sctp 80\"", "\"tcp 80 \"", NULL};
	refused_each(forwards, "- tcp 8080", "- ", "", NULL, "forwards");
	refused_each(control, "- tcp 8080", "- ", "", NULL, "forwards");
}

static void test_grammar_swarm(void **state)
{
	(void)state;
	/* engines */
	refused_all("engine: unix:///run/shoal/docker04.sock", "engine: ", "", NULL, "engine");
	static const char *const engines[] = {"unix://relative.sock", "\"unix:///x.sock\\ny\"", "tcp://host",
					      "tcp://host:0", "tcp://host:2376/path", "tcp://user@host:2376",
					      "\"tcp://a b:2376\"", "ssh://host", "unix:///" LONG300, "tcp://-host:2376",
					      "\"unix:///run/$(id).sock\"", NULL};
	refused_each(engines, "engine: unix:///run/shoal/docker04.sock", "engine: ", "", NULL, "engine");
	/* tls: a path */
	refused_each(control, "    role: worker\n    engine: unix:///run/shoal/docker04.sock",
		     "    role: worker\n    engine: tcp://docker04:2376\n    tls: ", "", "    tls:", "tls");
	static const char *const paths[] = {"-x", "--help", "\"\"", NULL};
	refused_each(paths, "    role: worker\n    engine: unix:///run/shoal/docker04.sock",
		     "    role: worker\n    engine: tcp://docker04:2376\n    tls: ", "", "    tls:", "tls");
	/* labels */
	refused_keys("{usage: apps, mongo01:", "{", ": apps, mongo01:", "labels");
	refused_each(control, "{usage: apps, mongo01:", "{usage: ", ", mongo01:", NULL, "labels");
	/* networks */
	refused_keys("frontend: {attachable: true}", "", ": {attachable: true}", "networks");
	/* the agent: stack, config and secret names and files */
	refused_all("stack: shoal", "stack: ", "", NULL, "stack");
	refused("stack: shoal", "stack: ../shoal", NULL, "stack");
	refused_keys("shoal-agent-conf: agent/agent.conf", "", ": agent/agent.conf", "configs");
	refused("shoal-agent-conf: agent/agent.conf", "shoal-agent-conf-: agent/agent.conf", NULL, "configs");
	refused_each(control, "shoal-agent-conf: agent/agent.conf", "shoal-agent-conf: ", "", NULL, "configs");
	refused_each(paths, "shoal-agent-conf: agent/agent.conf", "shoal-agent-conf: ", "", NULL, "configs");
	refused_keys("shoal-key: /root/shoal/shoal.key", "", ": /root/shoal/shoal.key", "secrets");
	refused_each(control, "shoal-key: /root/shoal/shoal.key", "shoal-key: ", "", NULL, "secrets");
	refused_each(paths, "shoal-key: /root/shoal/shoal.key", "shoal-key: ", "", NULL, "secrets");
	/* numbers */
	refused("router_id: 51", "router_id: \"51\\n\"", NULL, "router_id");
	refused("router_id: 51", "router_id: 51x", NULL, "router_id");
	refused("priority: 3,", "priority: \"3\\n\",", NULL, "priority");
}

/* A NUL byte anywhere, a key included, is refused with its position. */
static void test_grammar_nul(void **state)
{
	(void)state;
	refused("hostname: gateway", "hostname: \"gate\\0way\"", NULL, "NUL");
	refused("  docker06:", "  \"docker06\\0dhcp-script=/tmp/pwn\":", NULL, "NUL");
}

/* What the grammar takes: every form README documents, rules and policy
 * lines kept with their columns joined by one space. */
static void test_grammar_accepted(void **state)
{
	(void)state;
	char *path = mutated("    - ACCEPT net fw tcp 22         # SSH to the gateway\n",
			     "    - ACCEPT net fw tcp 22\n"
			     "    - \"ACCEPT\\tnet  $FW\\ttcp ssh,80,8000:8080\"\n"
			     "    - ACCEPT:info net:198.51.100.0/24,192.0.2.7 fw tcp 22 1024:65535\n"
			     "    - DNAT net loc:10.0.0.2:8080 tcp 80\n"
			     "    - DNAT- net loc:10.0.0.2 tcp 81\n"
			     "    - REDIRECT loc 3128 tcp 3129\n"
			     "    - Ping(ACCEPT) loc fw\n"
			     "    - HTTP(DNAT):info net loc:10.0.0.2\n"
			     "    - ACCEPT loc fw icmp 8,0/0,echo-request\n"
			     "    - LOG:debug all all 47\n"
			     "    - NONAT loc net - - -\n");
	struct inventory inv;
	struct diags d = {0};
	int rc = inventory_load(path, &inv, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "  %d:%d: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
	assert_int_equal(rc, 0);
	assert_int_equal(inv.rules.n, 12);
	assert_string_equal(inv.rules.v[1], "ACCEPT net $FW tcp ssh,80,8000:8080");
	assert_string_equal(inv.rules.v[11], "DNS(ACCEPT) loc fw");
	inventory_free(&inv);
	diags_free(&d);
	unlink(path);
	free(path);
	/* other forms of the other values */
	static const struct {
		const char *from, *to;
	} ok[] = {
		{"hostname: gateway", "hostname: gw-1.lan.example.com"},
		{"external_interface: enp0s3", "external_interface: eth0.100"},
		{"internal_interface: enp0s8", "internal_interface: br_lan-0"},
		{"lease: 1h", "lease: infinite"},
		{"lease: 1h", "lease: 7200"},
		{"lease: 1h", "lease: 2m"},
		{"lease: 1h", "lease: 1w"},
		{"- net all DROP info", "- \"$FW all ACCEPT\""},
		{"  docker06:", "  node-6a:"},
		{"  docker06:", "  0x12:"},
		{"engine: unix:///run/shoal/docker04.sock", "engine: tcp://docker04.lan:2376"},
		{"engine: unix:///run/shoal/docker04.sock", "engine: tcp://10.0.0.6:2376"},
		{"engine: unix:///run/shoal/docker04.sock", "engine: \"tcp://[fd00::6]:2376\""},
		{"{usage: apps,", "{com.example/usage: \"apps, eu-west #1 ‘été’\","},
		{"shoal-key: /root/shoal/shoal.key", "shoal-key: \"/root/my secrets/shoal key\""},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		path = mutated(ok[i].from, ok[i].to);
		rc = inventory_load(path, &inv, &d);
		for (size_t k = 0; k < d.n; k++)
			fprintf(stderr, "  %s: %d:%d: %s\n", ok[i].to, d.v[k].line, d.v[k].col, d.v[k].msg);
		assert_int_equal(rc, 0);
		inventory_free(&inv);
		diags_free(&d);
		unlink(path);
		free(path);
	}
}

/* Every violation of one file in one run, each at its own position. */
static void test_grammar_all_at_once(void **state)
{
	(void)state;
	char *path = xstrdup("/tmp/test_inventory.XXXXXX");
	int fd = mkstemp(path);
	const char *text = "gateway:\n"
			   "  hostname: \"gw\\nx\"\n"
			   "  external_interface: \"e\\n?SHELL /tmp/pwn\"\n"
			   "  internal_interface: \"i/x\"\n"
			   "  address: 10.0.0.1/24\n"
			   "  dhcp: {range: 10.0.0.200-10.0.0.250, lease: \"1h\\n\"}\n"
			   "  policy: [\"?PERL 1\"]\n"
			   "  rules: [\"?SHELL all:;x fw\"]\n"
			   "nodes:\n"
			   "  \"n1\\nx\": {address: 10.0.0.3, role: manager}\n"
			   "vip: {address: 10.0.0.2, interface: \"e\\n\"}\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct inventory inv;
	struct diags d = {0};
	assert_int_equal(inventory_load(path, &inv, &d), -1);
	static const struct {
		int line;
		const char *msg;
	} want[] = {{2, "hostname"}, {3, "external_interface"}, {4, "internal_interface"}, {6, "lease"},
		    {7, "policy"},   {8, "rules: ACTION"},	{8, "rules: SOURCE"},	      {10, "nodes"},
		    {11, "interface"}};
	for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
		int found = 0;
		for (size_t i = 0; i < d.n; i++)
			found |= d.v[i].line == want[w].line && d.v[i].col > 0 && strstr(d.v[i].msg, want[w].msg) != NULL;
		if (!found)
			fail_msg("no error \"%s\" on line %d", want[w].msg, want[w].line);
	}
	/* messages show the values escaped: one line each */
	for (size_t i = 0; i < d.n; i++)
		assert_null(strpbrk(d.v[i].msg, "\n\r"));
	diags_free(&d);
	inventory_free(&inv);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_grammar_hostname),
		cmocka_unit_test(test_grammar_interfaces),
		cmocka_unit_test(test_grammar_node_names),
		cmocka_unit_test(test_grammar_addresses),
		cmocka_unit_test(test_grammar_lease),
		cmocka_unit_test(test_grammar_policy),
		cmocka_unit_test(test_grammar_rules),
		cmocka_unit_test(test_grammar_swarm),
		cmocka_unit_test(test_grammar_nul),
		cmocka_unit_test(test_grammar_accepted),
		cmocka_unit_test(test_grammar_all_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

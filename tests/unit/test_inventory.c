#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/inventory.h"
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
	assert_int_equal(inventory_load(path, &inv, &d), -1);
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
	refused("engine: unix:///run/shoal/docker02.sock", "engine: ssh://docker02", NULL, "engine must be");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_structure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "interp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include <sodium.h>

static int name_start(int c)
{
	return c == '_' || isalpha(c);
}

static int name_char(int c)
{
	return c == '_' || isalnum(c);
}

/* Append the value of name with modifier mod ("", "-d", ":-d", "?e", ":?e"). */
static int subst(struct buf *b, const char *nm, size_t nmlen, const char *mod, size_t modlen,
		 const struct interp_opts *o, char **err)
{
	char *name = xstrndup(nm, nmlen);
	const char *v = o->lookup(o->ctx, name);
	int ret = 0;
	if (modlen == 0) {
		if (v)
			buf_adds(b, v);
		else if (o->unset)
			strv_push(o->unset, xstrdup(name));
		free(name);
		return 0;
	}
	int colon = *mod == ':';
	if (colon) {
		mod++;
		modlen--;
	}
	char op = *mod;
	char *arg = xstrndup(mod + 1, modlen - 1);
	int missing = colon ? (!v || !*v) : !v;
	if (!missing)
		buf_adds(b, v);
	else if (op == '-')
		buf_adds(b, arg);
	else {
		*err = xasprintf("required variable %s is missing a value: %s", name, arg);
		ret = -1;
	}
	free(arg);
	free(name);
	return ret;
}

int interp_string(const char *in, interp_lookup_fn lookup, void *ctx, char **out, char **err)
{
	return interp_string_ex(in, lookup, NULL, ctx, out, err, NULL);
}

int interp_string_ex(const char *in, interp_lookup_fn lookup, interp_sealed_fn sealed, void *ctx, char **out,
		     char **err, int *used)
{
	struct interp_opts o = {lookup, sealed, ctx, used, NULL};
	return interp_expand(in, &o, out, err);
}

int interp_expand(const char *in, const struct interp_opts *o, char **out, char **err)
{
	interp_sealed_fn sealed = o->sealed;
	void *ctx = o->ctx;
	int *used = o->used;
	struct buf b;
	buf_init(&b, 0);
	*out = NULL;
	*err = NULL;
	const char *p = in;
	while (*p) {
		if (*p != '$') {
			const char *q = strchr(p, '$');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			buf_add(&b, p, n);
			p += n;
			continue;
		}
		p++;
		if (*p == '$') {
			buf_addc(&b, '$');
			p++;
			continue;
		}
		if (name_start((unsigned char)*p)) {
			/* docker's pattern lets an unbraced name carry a modifier
			 * too ($V-d, $V:?e): it runs to the next '}' or the end */
			const char *s = p;
			while (name_char((unsigned char)*p))
				p++;
			const char *e = p;
			if (*p == '-' || *p == '?' || (*p == ':' && (p[1] == '-' || p[1] == '?')))
				p += strcspn(p, "}");
			if (subst(&b, s, (size_t)(e - s), e, (size_t)(p - e), o, err) < 0)
				goto fail;
			continue;
		}
		if (*p == '{' && sealed && str_has_prefix(p + 1, "sealed:")) {
			const char *close = strchr(p, '}');
			if (!close || close == p + 8)
				goto invalid;
			char *path = xstrndup(p + 8, (size_t)(close - p - 8));
			char *serr = NULL;
			const char *v = sealed(ctx, path, &serr);
			if (!v) {
				*err = serr ? serr : xasprintf("sealed value %s does not open", path);
				free(path);
				goto fail;
			}
			free(path);
			buf_adds(&b, v);
			if (used)
				*used = 1;
			p = close + 1;
			continue;
		}
		if (*p == '{') {
			const char *close = strchr(p, '}');
			const char *s = p + 1;
			if (!close || !name_start((unsigned char)*s))
				goto invalid;
			const char *e = s;
			while (name_char((unsigned char)*e))
				e++;
			size_t restlen = (size_t)(close - e);
			if (restlen && !((*e == '-' || *e == '?') ||
					 (*e == ':' && (e[1] == '-' || e[1] == '?'))))
				goto invalid;
			if (subst(&b, s, (size_t)(e - s), e, restlen, o, err) < 0)
				goto fail;
			p = close + 1;
			continue;
		}
	invalid:
		*err = xasprintf("invalid interpolation format: \"%s\"; you may need to escape any $ with another $",
				 in);
	fail:
		if (b.len)
			sodium_memzero(b.data, b.len);
		buf_free(&b);
		return -1;
	}
	*out = buf_detach(&b);
	return 0;
}

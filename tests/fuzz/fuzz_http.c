/*
 * The engine's answers, hostile: bytes from the socket through the HTTP
 * response parser (reconcile/uhttp.c), delivered in pieces whose sizes come
 * from the input's first byte, into a body buffer with a small cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../reconcile/uhttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t step = (size_t)data[0] % 64 + 1;
	int head = data[1] & 1;
	data += 2;
	size -= 2;
	struct buf body;
	buf_init(&body, 4096);
	struct uhttp_parser p;
	uhttp_parser_init(&p, &body, head);
	size_t off = 0;
	int rc = UHTTP_MORE;
	while (off < size && rc == UHTTP_MORE) {
		size_t n = size - off < step ? size - off : step, used = 0;
		rc = uhttp_parser_feed(&p, (const char *)data + off, n, &used);
		if (used > n || (rc == UHTTP_MORE && used != n))
			abort();
		off += used;
	}
	if (rc == UHTTP_MORE)
		rc = uhttp_parser_eof(&p);
	if (body.len > 4096 || body.data[body.len] != 0)
		abort();
	if (rc == UHTTP_DONE && (p.status < 200 || p.status > 999))
		abort();
	buf_free(&body);
	return 0;
}

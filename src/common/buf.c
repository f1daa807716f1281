/* Bounds-checked reader and writer. */
#include <string.h>

#include "turnpike/buf.h"

void
buf_init(struct buf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = len;
	b->off = 0;
}

size_t
buf_left(const struct buf *b)
{
	return b->len - b->off;
}

int
buf_get_ptr(struct buf *b, const uint8_t **p, size_t n)
{
	if (n > buf_left(b))
		return -1;
	*p = b->off == 0 ? b->p : b->p + b->off; /* NULL + 0 is undefined */
	b->off += n;
	return 0;
}

int
buf_skip(struct buf *b, size_t n)
{
	const uint8_t *p;

	return buf_get_ptr(b, &p, n);
}

int
buf_get_bytes(struct buf *b, void *out, size_t n)
{
	const uint8_t *p;

	if (buf_get_ptr(b, &p, n) == -1)
		return -1;
	if (n > 0)
		memcpy(out, p, n);
	return 0;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	const uint8_t *p;

	if (buf_get_ptr(b, &p, 1) == -1)
		return -1;
	*v = p[0];
	return 0;
}

int
buf_get_u16(struct buf *b, uint16_t *v)
{
	const uint8_t *p;

	if (buf_get_ptr(b, &p, 2) == -1)
		return -1;
	*v = buf_load_u16(p);
	return 0;
}

int
buf_get_u32(struct buf *b, uint32_t *v)
{
	const uint8_t *p;

	if (buf_get_ptr(b, &p, 4) == -1)
		return -1;
	*v = buf_load_u32(p);
	return 0;
}

void
wbuf_init(struct wbuf *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

/* Reserves n bytes at the end; NULL (and overflow set) when they do not fit. */
static uint8_t *
wbuf_reserve(struct wbuf *w, size_t n)
{
	uint8_t *at;

	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return NULL;
	}
	at = w->p + w->len;
	w->len += n;
	return at;
}

int
wbuf_put_bytes(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *at = wbuf_reserve(w, n);

	if (at == NULL)
		return -1;
	if (n > 0)
		memcpy(at, src, n);
	return 0;
}

int
wbuf_put_zero(struct wbuf *w, size_t n)
{
	uint8_t *at = wbuf_reserve(w, n);

	if (at == NULL)
		return -1;
	if (n > 0)
		memset(at, 0, n);
	return 0;
}

int
wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	return wbuf_put_bytes(w, &v, 1);
}

int
wbuf_put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *at = wbuf_reserve(w, 2);

	if (at == NULL)
		return -1;
	buf_store_u16(at, v);
	return 0;
}

int
wbuf_put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *at = wbuf_reserve(w, 4);

	if (at == NULL)
		return -1;
	buf_store_u32(at, v);
	return 0;
}

int
wbuf_set_u16(struct wbuf *w, size_t at, uint16_t v)
{
	if (w->overflow || at > w->len || w->len - at < 2)
		return -1;
	buf_store_u16(w->p + at, v);
	return 0;
}

uint16_t
buf_load_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t
buf_load_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void
buf_store_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
buf_store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

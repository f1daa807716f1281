/* Bounds-checked reader and writer over caller-owned byte arrays. */
#ifndef TURNPIKE_BUF_H
#define TURNPIKE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read cursor: every getter returns -1 instead of reading past the end. */
struct buf {
	const uint8_t *p;
	size_t len;
	size_t off;
};

/* A write cursor: once a put would overflow, every later put fails too. */
struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool overflow;
};

void buf_init(struct buf *b, const void *p, size_t len);
size_t buf_left(const struct buf *b);
int buf_get_u8(struct buf *b, uint8_t *v);
int buf_get_u16(struct buf *b, uint16_t *v);
int buf_get_u32(struct buf *b, uint32_t *v);
int buf_get_bytes(struct buf *b, void *out, size_t n);
/* Points *p at the next n bytes without copying. */
int buf_get_ptr(struct buf *b, const uint8_t **p, size_t n);
int buf_skip(struct buf *b, size_t n);

void wbuf_init(struct wbuf *w, void *p, size_t cap);
int wbuf_put_u8(struct wbuf *w, uint8_t v);
int wbuf_put_u16(struct wbuf *w, uint16_t v);
int wbuf_put_u32(struct wbuf *w, uint32_t v);
int wbuf_put_bytes(struct wbuf *w, const void *src, size_t n);
int wbuf_put_zero(struct wbuf *w, size_t n);
/* Writes v big-endian at an earlier offset (length fix-ups). */
int wbuf_set_u16(struct wbuf *w, size_t at, uint16_t v);

/* Big-endian loads and stores for already-validated memory. */
uint16_t buf_load_u16(const uint8_t *p);
uint32_t buf_load_u32(const uint8_t *p);
void buf_store_u16(uint8_t *p, uint16_t v);
void buf_store_u32(uint8_t *p, uint32_t v);

#endif

/* Stream framing of STUN and ChannelData over TCP/TLS (RFC 8656 §12.5). */
#ifndef TURNPIKE_FRAMING_H
#define TURNPIKE_FRAMING_H

#include <stddef.h>
#include <stdint.h>

enum framing_kind {
	FRAMING_STUN = 1,
	FRAMING_CHANDATA = 2,
};

/*
 * Stream framing: looks at the first bytes buffered on a TCP/TLS connection.
 * Returns 0 and sets *need = 0 when more bytes are needed to know the size;
 * 0 with *need = total frame length (STUN: 20 + length; ChannelData: 4 + length
 * rounded up to 4) and *kind; -1 with *errstr when the bytes cannot start a frame
 * (top bits 10/11, bad STUN cookie, bad channel number, STUN length not a
 * multiple of 4).
 */
int framing_next(const uint8_t *p, size_t len, size_t *need, int *kind, const char **errstr);

#endif

/* Stream framing of STUN and ChannelData over TCP and TLS (RFC 8656 §12.5). */
#include "turnpike/buf.h"
#include "turnpike/chandata.h"
#include "turnpike/framing.h"
#include "turnpike/stun.h"

#define FRAMING_PAD(n) ((4 - ((n)&3)) & 3)

/* STUN: the size is trusted once both length and cookie have been checked. */
static int
framing_stun(const uint8_t *p, size_t len, size_t *need, const char **errstr)
{
	uint16_t type, mlen;
	uint32_t cookie;
	struct buf b;

	buf_init(&b, p, len);
	if (buf_get_u16(&b, &type) == -1 || buf_get_u16(&b, &mlen) == -1)
		return 0;
	if (mlen % 4 != 0) {
		*errstr = "STUN length not a multiple of 4";
		return -1;
	}
	if (buf_get_u32(&b, &cookie) == -1)
		return 0;
	if (cookie != STUN_MAGIC_COOKIE) {
		*errstr = "bad STUN magic cookie";
		return -1;
	}
	*need = STUN_HEADER_LEN + (size_t)mlen;
	return 0;
}

/* ChannelData: top bits 01, so the channel is 0x4000-0x7FFF (see chandata.h). */
static int
framing_chandata(const uint8_t *p, size_t len, size_t *need, const char **errstr)
{
	uint16_t ch, dlen;
	struct buf b;

	buf_init(&b, p, len);
	if (buf_get_u16(&b, &ch) == -1 || buf_get_u16(&b, &dlen) == -1)
		return 0;
	if (!chandata_is_channel(ch)) {
		*errstr = "reserved channel number";
		return -1;
	}
	*need = CHANDATA_HEADER_LEN + (size_t)dlen + FRAMING_PAD(dlen);
	return 0;
}

int
framing_next(const uint8_t *p, size_t len, size_t *need, int *kind, const char **errstr)
{
	struct buf b;
	uint8_t first;

	*need = 0;
	buf_init(&b, p, len);
	if (buf_get_u8(&b, &first) == -1)
		return 0;
	if ((first & 0xc0) == 0x00) {
		*kind = FRAMING_STUN;
		return framing_stun(p, len, need, errstr);
	}
	if ((first & 0xc0) == 0x40) {
		*kind = FRAMING_CHANDATA;
		return framing_chandata(p, len, need, errstr);
	}
	*errstr =
	    (first & 0xc0) == 0x40 ? "reserved channel number" : "neither STUN nor ChannelData";
	return -1;
}

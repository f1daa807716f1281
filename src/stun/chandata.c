/* ChannelData messages (RFC 8656 §12.4, §12.5). */
#include <string.h>

#include "turnpike/buf.h"
#include "turnpike/chandata.h"

#define CHANDATA_PAD(n) ((4 - ((n)&3)) & 3)

bool
chandata_is_channel(uint16_t ch)
{
	return ch >= CHANNEL_MIN && ch <= CHANNEL_LEGACY_MAX;
}

int
chandata_decode(const uint8_t *p, size_t len, bool stream, uint16_t *channel, const uint8_t **data,
    size_t *datalen, size_t *consumed, const char **errstr)
{
	struct buf b;
	uint16_t ch, dlen;

	buf_init(&b, p, len);
	if (buf_get_u16(&b, &ch) == -1 || buf_get_u16(&b, &dlen) == -1) {
		*errstr = "shorter than a ChannelData header";
		return -1;
	}
	if (!chandata_is_channel(ch)) {
		*errstr = "channel number out of range";
		return -1;
	}
	if (buf_get_ptr(&b, data, dlen) == -1) {
		*errstr = "ChannelData length beyond end of data";
		return -1;
	}
	/* RFC 8656 §12.5: over streams the data is padded to a multiple of 4. */
	if (stream && buf_skip(&b, CHANDATA_PAD(dlen)) == -1) {
		*errstr = "ChannelData padding beyond end of data";
		return -1;
	}
	*channel = ch;
	*datalen = dlen;
	*consumed = b.off;
	return 0;
}

int
chandata_encode(uint8_t *out, size_t cap, uint16_t channel, const void *data, size_t datalen,
    bool stream)
{
	struct wbuf w;

	if (!chandata_is_channel(channel) || datalen > 0xffff)
		return -1;
	wbuf_init(&w, out, cap);
	wbuf_put_u16(&w, channel);
	wbuf_put_u16(&w, (uint16_t)datalen);
	wbuf_put_bytes(&w, data, datalen);
	if (stream)
		wbuf_put_zero(&w, CHANDATA_PAD(datalen));
	return w.overflow ? -1 : (int)w.len;
}

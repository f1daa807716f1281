/* Unit tests for the bounds-checked reader and writer. */
#include "turnpike/buf.h"
#include "unit.h"

static void
test_reader(void)
{
	const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
	struct buf b;
	uint8_t u8, out[4];
	uint16_t u16;
	uint32_t u32;
	const uint8_t *p;

	buf_init(&b, data, sizeof(data));
	CHECK(buf_get_u8(&b, &u8) == 0 && u8 == 0x01);
	CHECK(buf_get_u16(&b, &u16) == 0 && u16 == 0x0203);
	CHECK(buf_get_u32(&b, &u32) == 0 && u32 == 0x04050607);
	CHECK(buf_left(&b) == 0);
	CHECKM(buf_get_u8(&b, &u8) == -1, "read past the end fails");

	buf_init(&b, data, 3);
	CHECKM(buf_get_u32(&b, &u32) == -1, "u32 from 3 bytes fails");
	CHECKM(buf_left(&b) == 3, "failed read consumes nothing");
	CHECK(buf_get_bytes(&b, out, 4) == -1);
	CHECK(buf_get_ptr(&b, &p, 3) == 0 && p == data);
	CHECK(buf_skip(&b, 1) == -1);

	buf_init(&b, NULL, 0);
	CHECKM(buf_get_u8(&b, &u8) == -1, "empty buffer reads nothing");
	CHECK(buf_get_bytes(&b, out, 0) == 0);
	CHECKM(buf_skip(&b, (size_t)-1) == -1, "huge skip does not wrap");
}

static void
test_writer(void)
{
	uint8_t mem[8];
	struct wbuf w;

	wbuf_init(&w, mem, sizeof(mem));
	CHECK(wbuf_put_u16(&w, 0xabcd) == 0);
	CHECK(wbuf_put_u32(&w, 0x01020304) == 0);
	CHECK(wbuf_put_u8(&w, 0xee) == 0);
	CHECK(w.len == 7 && mem[0] == 0xab && mem[5] == 0x04 && mem[6] == 0xee);
	CHECKM(wbuf_put_u16(&w, 1) == -1, "overflow fails");
	CHECKM(w.overflow, "overflow is remembered");
	CHECKM(wbuf_put_u8(&w, 1) == -1, "writes after an overflow fail even if they fit");
	CHECK(w.len == 7);

	wbuf_init(&w, mem, sizeof(mem));
	CHECK(wbuf_put_zero(&w, 4) == 0 && mem[0] == 0 && mem[3] == 0);
	CHECK(wbuf_set_u16(&w, 2, 0x1234) == 0 && mem[2] == 0x12 && mem[3] == 0x34);
	CHECKM(wbuf_set_u16(&w, 3, 1) == -1, "fix-up past the written end fails");
	CHECK(wbuf_put_bytes(&w, "abcde", 5) == -1);
}

static void
test_load_store(void)
{
	uint8_t m[4];

	buf_store_u32(m, 0xdeadbeef);
	CHECK(buf_load_u32(m) == 0xdeadbeef);
	CHECK(m[0] == 0xde && m[3] == 0xef);
	buf_store_u16(m, 0xfffe);
	CHECK(buf_load_u16(m) == 0xfffe);
}

int
main(void)
{
	test_reader();
	test_writer();
	test_load_store();
	return unit_done();
}

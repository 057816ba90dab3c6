/*
 * tests/check_bridge_proto.c - the bridge's protocol rules without UCX (lib/bridge_proto.c):
 * a HELLO is checked token first (constant-time compare), then name and geometry, from one
 * copy; the receiver delivers in order, drops duplicates, refuses gaps, messages past the
 * credit and oversize ones; credit never passes the free slots and never goes back.
 */
#include "testlib.h"

#include <stdint.h>
#include <string.h>

#include "bridge_proto.h"

static const unsigned char tok[] = "s3cret-token";

static struct br_hello good(void)
{
	struct br_hello h;

	memset(&h, 0, sizeof(h));
	h.magic = BR_MAGIC;
	h.version = BR_VERSION;
	h.session = 42;
	h.slot_size = 4096;
	h.nslots = 8;
	h.ndim = 2;
	strcpy(h.format, "H");
	h.shape[0] = 32;
	h.shape[1] = 64;
	strcpy(h.name, "/cam");
	h.token_len = sizeof(tok) - 1;
	memcpy(h.token, tok, sizeof(tok) - 1);
	return h;
}

static int check(const struct br_hello *h, size_t len, const char *expect, char *why)
{
	struct br_policy p = { tok, sizeof(tok) - 1, expect, 1u << 20 };
	struct br_hello out;

	return mv_br_hello_check(&out, h, len, &p, why, 200);
}

START_TEST(a_good_hello_passes_and_each_fault_is_named)
{
	struct br_hello h = good();
	char why[200];

	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), 0);
	ck_assert_int_eq(check(&h, sizeof(h), "/cam", why), 0);
	ck_assert_int_eq(check(&h, sizeof(h), "/other", why), -EPERM);
	ck_assert_int_eq(check(&h, sizeof(h) - 1, NULL, why), -EBADMSG);
	h.magic ^= 1;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	h.token[0] ^= 1;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EACCES);
	ck_assert_str_eq(why, "wrong token");
	h = good();
	h.token_len--; /* a prefix of the token is not the token */
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EACCES);
	h.token_len = 100000;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EACCES);
	h = good();
	h.token[0] ^= 1; /* a wrong token says nothing else, even with a bad geometry */
	h.nslots = 0;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EACCES);
	h = good();
	h.nslots = 0;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	h.slot_size = 100; /* not a multiple of 64 */
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	h.nslots = 65536;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EFBIG);
	h = good();
	strcpy(h.format, "Z");
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	h.shape[1] = 65; /* 32 * 65 * 2 > 4096 */
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	h.shape[0] = -1;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	h.ndim = 9;
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	strcpy(h.name, "/a/b");
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
	h = good();
	memset(h.name, 'x', sizeof(h.name)); /* no NUL: cut, and not a name */
	ck_assert_int_eq(check(&h, sizeof(h), NULL, why), -EBADMSG);
}
END_TEST

START_TEST(token_compare_is_exact)
{
	ck_assert(mv_br_token_equal((const unsigned char *)"abc", 3, (const unsigned char *)"abc", 3));
	ck_assert(!mv_br_token_equal((const unsigned char *)"abd", 3, (const unsigned char *)"abc", 3));
	ck_assert(!mv_br_token_equal((const unsigned char *)"ab", 2, (const unsigned char *)"abc", 3));
	ck_assert(!mv_br_token_equal((const unsigned char *)"abcd", 4, (const unsigned char *)"abc", 3));
}
END_TEST

START_TEST(the_receiver_delivers_in_order_once_within_the_credit)
{
	struct br_rx r = { 0, 0, 0 };
	struct br_data d = { 0, 10 };
	char why[200];

	ck_assert_int_eq(mv_br_rx_grant(&r, 2), 2);
	ck_assert_int_eq(mv_br_rx_check(&r, &d, 10, 64, why, sizeof(why)), 1);
	r.next++;
	ck_assert_int_eq(mv_br_rx_check(&r, &d, 10, 64, why, sizeof(why)), 0); /* again: dropped */
	d.seq = 2;
	ck_assert_int_eq(mv_br_rx_check(&r, &d, 10, 64, why, sizeof(why)), -EPROTO); /* a gap */
	d.seq = 1;
	ck_assert_int_eq(mv_br_rx_check(&r, &d, 11, 64, why, sizeof(why)), -EPROTO); /* length */
	d.len = 65;
	ck_assert_int_eq(mv_br_rx_check(&r, &d, 65, 64, why, sizeof(why)), -EPROTO); /* oversize */
	d.len = 10;
	ck_assert_int_eq(mv_br_rx_check(&r, &d, 10, 64, why, sizeof(why)), 1);
	r.next++;
	d.seq = 2;
	ck_assert_int_eq(mv_br_rx_check(&r, &d, 10, 64, why, sizeof(why)), -EPROTO); /* credit */
	ck_assert(strstr(why, "credit") != NULL);
	/* Credit: next + free slots, never back. */
	ck_assert_int_eq(mv_br_rx_grant(&r, 0), 2);
	ck_assert_int_eq(mv_br_rx_grant(&r, 3), 5);
	ck_assert_int_eq(mv_br_rx_grant(&r, 1), 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bridge_proto");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, a_good_hello_passes_and_each_fault_is_named);
	tcase_add_test(tc, token_compare_is_exact);
	tcase_add_test(tc, the_receiver_delivers_in_order_once_within_the_credit);
	suite_add_tcase(s, tc);
	return mv_test_run(s);
}

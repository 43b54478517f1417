/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf: JSON strings read back as what was written, whichever byte needs an
 * escape and wherever it falls in the eight-byte steps; integers as printf
 * writes them; base64 as RFC 4648 and OpenSSL write it, whatever the
 * length; a fixed buffer refuses what does not fit and never frees the
 * caller's storage.
 */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "hookwarden/buf.h"

START_TEST(test_buf_json_string_reads_back_with_any_byte_anywhere)
{
    static const char *const specials[] = {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", "/", "\xc3\xa9",
                                           "\xe2\x82\xac", "\xf0\x9f\x98\x80", "x"};
    char text[64];
    long checked = 0;

    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (int before = 0; before <= 17; before++) {
            for (int after = 0; after <= 9; after += 3) {
                int n = snprintf(text, sizeof(text), "%.*s%s%.*s", before, "abcdefghijklmnopq",
                                 specials[k], after, "rstuvwxyz");
                struct hw_buf b;
                json_t *j;

                hw_buf_init(&b, 0);
                ck_assert_int_eq(hw_buf_append_json_string(&b, text, (size_t)n), 0);
                j = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
                ck_assert_msg(j != NULL, "not JSON: %s", b.data);
                ck_assert_uint_eq(json_string_length(j), (size_t)n);
                ck_assert_msg(memcmp(json_string_value(j), text, (size_t)n) == 0, "%s", b.data);
                ck_assert_uint_eq(strlen(b.data), b.len);
                json_decref(j);
                hw_buf_free(&b);
                checked++;
            }
        }
    }
    ck_assert_int_eq(checked, 11 * 18 * 4);
}
END_TEST

/* A broken UTF-8 sequence becomes U+FFFD: JSON text is UTF-8. */
START_TEST(test_buf_json_string_replaces_broken_utf8)
{
    struct hw_buf b;

    hw_buf_init(&b, 0);
    ck_assert_int_eq(hw_buf_append_json_string(&b, "abc\xff" "defghijk", 12), 0);
    ck_assert_str_eq(b.data, "\"abc\\ufffddefghijk\"");
    hw_buf_free(&b);
}
END_TEST

START_TEST(test_buf_int_writes_what_printf_writes)
{
    static const long long values[] = {0, 7, -7, 10, 99999, -100000, LLONG_MAX, LLONG_MIN};
    char want[32];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct hw_buf b;

        hw_buf_init(&b, 0);
        ck_assert_int_eq(hw_buf_append_int(&b, values[i]), 0);
        snprintf(want, sizeof(want), "%lld", values[i]);
        ck_assert_str_eq(b.data, want);
        hw_buf_free(&b);
    }
}
END_TEST

START_TEST(test_buf_base64_writes_what_rfc4648_and_openssl_write)
{
    /* RFC 4648, section 10. */
    static const char *const vectors[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    unsigned char data[300], want[404];
    struct hw_buf b;

    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        hw_buf_init(&b, 0);
        ck_assert_int_eq(hw_buf_append_base64(&b, (const unsigned char *)vectors[i][0],
                                              strlen(vectors[i][0])), 0);
        ck_assert_str_eq(b.data, vectors[i][1]);
        hw_buf_free(&b);
    }
    /* Every byte value, every remainder, after text already in the buffer. */
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 167 + 13);
    for (size_t n = 0; n <= sizeof(data); n++) {
        hw_buf_init(&b, 0);
        ck_assert_int_eq(hw_buf_append(&b, "x", 1), 0);
        ck_assert_int_eq(hw_buf_append_base64(&b, data, n), 0);
        EVP_EncodeBlock(want, data, (int)n);
        ck_assert_uint_eq(b.len, 1 + strlen((const char *)want));
        ck_assert_str_eq(b.data + 1, (const char *)want);
        hw_buf_free(&b);
    }
}
END_TEST

START_TEST(test_buf_fixed_refuses_what_does_not_fit_and_keeps_its_storage)
{
    char storage[8];
    struct hw_buf b;

    hw_buf_init_fixed(&b, storage, sizeof(storage));
    ck_assert_int_eq(hw_buf_append(&b, "1234567", 7), 0);
    ck_assert_str_eq(storage, "1234567");
    ck_assert_int_eq(hw_buf_append(&b, "8", 1), -1);  /* its NUL needs the last byte */
    ck_assert_int_eq(hw_buf_append_json_string(&b, "", 0), -1);
    ck_assert_ptr_null(hw_buf_steal(&b, NULL));
    hw_buf_free(&b);  /* empties it; the storage is the caller's */
    ck_assert_ptr_eq(b.data, storage);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(hw_buf_append(&b, "ab", 2), 0);
    ck_assert_str_eq(storage, "ab");
}
END_TEST

Suite *hw_suite_buf(void);

Suite *
hw_suite_buf(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_buf_json_string_reads_back_with_any_byte_anywhere);
    tcase_add_test(tc, test_buf_json_string_replaces_broken_utf8);
    tcase_add_test(tc, test_buf_int_writes_what_printf_writes);
    tcase_add_test(tc, test_buf_base64_writes_what_rfc4648_and_openssl_write);
    tcase_add_test(tc, test_buf_fixed_refuses_what_does_not_fit_and_keeps_its_storage);
    suite_add_tcase(s, tc);
    return s;
}

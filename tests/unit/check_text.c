/* SPDX-License-Identifier: Apache-2.0 */
/* text: UTF-8 validation by Go's rules, cuts that keep whole characters,
 * and printable copies (what kube-apiserver keeps in a warning). */
#include <check.h>
#include <string.h>

#include "hookwarden/handler.h"
#include "hookwarden/text.h"
#include "testutil.h"

static const struct {
    const char *s;
    size_t len;   /* of the character at s; 0 = invalid */
} char_cases[] = {
    {"a", 1},           {"\xc3\xa9", 2},        {"\xe2\x82\xac", 3},     {"\xf0\x9f\x98\x80", 4},
    {"\xc0\xaf", 0},    /* overlong '/' */      {"\xe0\x80\xaf", 0},     /* overlong, 3 bytes */
    {"\xed\xa0\x80", 0}, /* surrogate U+D800 */ {"\xf4\x90\x80\x80", 0}, /* past U+10FFFF */
    {"\xff", 0},        {"\x80", 0},            {"\xc3", 0},             /* cut short */
    {"\xe2\x82", 0},    {"\xc3\x28", 0},        /* bad continuation */
};

START_TEST(test_text_validates_utf8_characters_like_go)
{
    const char *s = char_cases[_i].s;

    ck_assert_uint_eq(hw_text_utf8_char(s, strlen(s)), char_cases[_i].len);
}
END_TEST

START_TEST(test_text_cut_keeps_whole_characters)
{
    /* 61 bytes of ASCII, then 2-byte characters: a cut at 63 keeps one. */
    char s[80];

    memset(s, 'a', 61);
    strcpy(s + 61, "\xc3\xa9\xc3\xa9\xc3\xa9");
    ck_assert_uint_eq(hw_text_cut(s, strlen(s), 63), 63);
    ck_assert_uint_eq(hw_text_cut(s, strlen(s), 64), 63);
    ck_assert_uint_eq(hw_text_cut(s, strlen(s), 65), 65);
    ck_assert_uint_eq(hw_text_cut(s, strlen(s), 100), strlen(s));
    /* Bytes that are not UTF-8 are cut like bytes. */
    ck_assert_uint_eq(hw_text_cut("ab\xff\xff", 4, 3), 3);
    ck_assert_uint_eq(hw_text_cut("\xf0\x9f\x98\x80", 4, 3), 0);
}
END_TEST

START_TEST(test_text_printable_replaces_what_a_warning_may_not_carry)
{
    char out[64];

    ck_assert_int_eq(hw_text_printable(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac", 9, 63), 0);
    ck_assert_str_eq(out, "caf\xc3\xa9 \xe2\x82\xac");
    /* C0 (NUL, newline), DEL, C1 (U+0085), invalid and overlong bytes. */
    ck_assert_int_eq(hw_text_printable(out, sizeof(out), "a\0b\nc\x7f" "d\xc2\x85" "e\xff" "f\xc0\xaf", 14, 63), 0);
    ck_assert_str_eq(out, "a?b?c?d?e?f??");
    /* Cut on a character: the euro sign does not fit in 5 bytes. */
    ck_assert_int_eq(hw_text_printable(out, sizeof(out), "abc\xe2\x82\xac", 6, 5), 1);
    ck_assert_str_eq(out, "abc");
    ck_assert_int_eq(hw_text_printable(out, 4, "abcdef", 6, 63), 1);
    ck_assert_str_eq(out, "abc");
}
END_TEST

/* The summary's uid field (63 bytes) keeps a character that fits whole. */
START_TEST(test_text_handler_summary_cut_keeps_a_complete_character)
{
    char uid[80], body[512];
    struct hw_response res = {0};
    struct hw_policy *p = hw_policy_new_default(NULL, NULL);

    memset(uid, 'a', 61);
    strcpy(uid + 61, "\xc3\xa9\xc3\xa9");
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"%s\","
             "\"operation\":\"DELETE\",\"kind\":{\"group\":\"batch\",\"version\":\"v1\",\"kind\":\"Job\"}}}",
             uid);
    hw_handler_mutate(p, body, strlen(body), &res);
    ck_assert_int_eq(res.status, 200);
    ck_assert_uint_eq(strlen(res.uid), 63);
    ck_assert_int_eq(memcmp(res.uid + 61, "\xc3\xa9", 2), 0);
    hw_response_clear(&res);
    hw_policy_unref(p);
}
END_TEST

Suite *hw_suite_text(void);

Suite *
hw_suite_text(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_text_validates_utf8_characters_like_go, 0,
                        sizeof(char_cases) / sizeof(char_cases[0]));
    tcase_add_test(tc, test_text_cut_keeps_whole_characters);
    tcase_add_test(tc, test_text_printable_replaces_what_a_warning_may_not_carry);
    tcase_add_test(tc, test_text_handler_summary_cut_keeps_a_complete_character);
    suite_add_tcase(s, tc);
    return s;
}

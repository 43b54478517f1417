/* SPDX-License-Identifier: Apache-2.0 */
/* certs: gen-certs output, every reason a pair is refused, validity windows as dates. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hookwarden/certs.h"
#include "testutil.h"

static char dir[64], other[64];

static void
setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/hw-certs-XXXXXX");
    snprintf(other, sizeof(other), "/tmp/hw-certs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_nonnull(mkdtemp(other));
    ck_assert_int_eq(hw_certs_generate(dir, "hookwarden", "platform", 30, 0, NULL), 0);
    ck_assert_int_eq(hw_certs_generate(other, "hookwarden", "platform", 30, 1, NULL), 0);
}

static void
teardown(void)
{
    char cmd[200];

    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, other);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *
path(const char *d, const char *f)
{
    static char buf[4][128];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", d, f);
    return buf[k];
}

START_TEST(test_certs_generated_pair_carries_only_the_service_names)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct stat st;

    ck_assert_int_eq(hw_certs_load(path(dir, "tls.crt"), path(dir, "tls.key"), &pair, &err), 0);
    ck_assert_str_eq(pair.info.subject, "CN=hookwarden.platform.svc");
    ck_assert_str_eq(pair.info.sans, "DNS:hookwarden, DNS:hookwarden.platform, DNS:hookwarden.platform.svc, "
                                     "DNS:hookwarden.platform.svc.cluster.local");
    ck_assert_int_eq(strlen(pair.info.sha256), 95);
    ck_assert(pair.info.not_after > time(NULL) + 29 * 86400);
    ck_assert_int_eq(hw_certs_validity(&pair.info, time(NULL), NULL, 0), HW_CERTS_VALID);
    ck_assert_ptr_nonnull(strstr(pair.key_pem, "BEGIN PRIVATE KEY"));
    hw_certs_pair_clear(&pair);
    ck_assert_int_eq(stat(path(dir, "tls.key"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(path(dir, "ca.key"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(test_certs_development_pair_adds_loopback_names)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_certs_load(path(other, "tls.crt"), path(other, "tls.key"), &pair, &err), 0);
    ck_assert_str_eq(pair.info.sans, "DNS:hookwarden, DNS:hookwarden.platform, DNS:hookwarden.platform.svc, "
                                     "DNS:hookwarden.platform.svc.cluster.local, DNS:localhost, IP:127.0.0.1");
    hw_certs_pair_clear(&pair);
}
END_TEST

static void
refused(const char *cert, const char *key, const char *why)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_certs_load(cert, key, &pair, &err), -1);
    ck_assert_int_eq(err.code, HW_EINVAL);
    ck_assert_msg(strstr(err.msg, why) != NULL, "\"%s\" lacks \"%s\"", err.msg, why);
    ck_assert_ptr_null(pair.key_pem);
}

START_TEST(test_certs_refuses_a_key_that_does_not_match)
{
    refused(path(dir, "tls.crt"), path(other, "tls.key"), "does not match certificate");
}
END_TEST

START_TEST(test_certs_validity_window_is_said_with_dates)
{
    struct hw_certs_info info = {0};
    char why[96] = "";

    info.not_before = 1764547200;  /* 2025-12-01T00:00:00Z */
    info.not_after = 1767225599;   /* 2025-12-31T23:59:59Z */
    ck_assert_int_eq(hw_certs_validity(&info, info.not_before - 1, why, sizeof(why)),
                     HW_CERTS_NOT_YET_VALID);
    ck_assert_str_eq(why, "is not valid before 2025-12-01T00:00:00Z");
    ck_assert_int_eq(hw_certs_validity(&info, info.not_before, why, sizeof(why)), HW_CERTS_VALID);
    /* notAfter is the last valid second (RFC 5280). */
    ck_assert_int_eq(hw_certs_validity(&info, info.not_after, why, sizeof(why)), HW_CERTS_VALID);
    ck_assert_int_eq(hw_certs_validity(&info, info.not_after + 1, why, sizeof(why)), HW_CERTS_EXPIRED);
    ck_assert_str_eq(why, "expired at 2025-12-31T23:59:59Z");
}
END_TEST

START_TEST(test_certs_loads_a_pair_outside_its_window_for_the_caller_to_judge)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_certs_load(path(dir, "tls.crt"), path(dir, "tls.key"), &pair, &err), 0);
    ck_assert_int_eq(hw_certs_validity(&pair.info, time(NULL) + 40 * 86400, NULL, 0), HW_CERTS_EXPIRED);
    ck_assert_int_eq(hw_certs_validity(&pair.info, time(NULL) - 86400, NULL, 0), HW_CERTS_NOT_YET_VALID);
    hw_certs_pair_clear(&pair);
}
END_TEST

/* An encrypted key would make OpenSSL prompt on the terminal (and --check
 * block); it is refused at once, saying why. Both PEM forms. */
START_TEST(test_certs_refuses_an_encrypted_key_without_prompting)
{
    char cmd[700];

    snprintf(cmd, sizeof(cmd),
             "openssl pkey -in %s/tls.key -aes256 -passout pass:secret -out %s/enc8.key 2>/dev/null && "
             "openssl ec -in %s/tls.key -aes256 -passout pass:secret -out %s/enclegacy.key 2>/dev/null && "
             "grep -q 'BEGIN ENCRYPTED PRIVATE KEY' %s/enc8.key && grep -q 'Proc-Type: 4,ENCRYPTED' %s/enclegacy.key",
             dir, dir, dir, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    refused(path(dir, "tls.crt"), path(dir, "enc8.key"), "enc8.key is encrypted (it needs a passphrase)");
    refused(path(dir, "tls.crt"), path(dir, "enclegacy.key"), "enclegacy.key is encrypted");
}
END_TEST

START_TEST(test_certs_parse_checks_content_given_in_memory)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    char *cert, *key, *okey;
    size_t cl, kl, okl;

    cert = tu_read(path(dir, "tls.crt"), &cl);
    key = tu_read(path(dir, "tls.key"), &kl);
    okey = tu_read(path(other, "tls.key"), &okl);
    ck_assert_int_eq(hw_certs_parse(cert, cl, key, kl, "mem.crt", "mem.key", &pair, &err), 0);
    ck_assert_uint_eq(pair.cert_len, cl);
    ck_assert_int_eq(memcmp(pair.cert_pem, cert, cl), 0);
    hw_certs_pair_clear(&pair);
    ck_assert_int_eq(hw_certs_parse(cert, cl, okey, okl, "mem.crt", "mem.key", &pair, &err), -1);
    ck_assert_str_eq(err.msg, "private key mem.key does not match certificate mem.crt");
    free(cert);
    free(key);
    free(okey);
}
END_TEST

START_TEST(test_certs_formats_times_as_utc_dates)
{
    char out[32];

    hw_certs_format_time(0, out, sizeof(out));
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
    hw_certs_format_time(1827549325, out, sizeof(out));
    ck_assert_str_eq(out, "2027-11-30T04:35:25Z");
}
END_TEST

START_TEST(test_certs_refuses_missing_files_and_non_pem_naming_the_file)
{
    FILE *f;

    refused(path(dir, "nope.crt"), path(dir, "tls.key"), "nope.crt: cannot open");
    refused(path(dir, "tls.crt"), path(dir, "nope.key"), "nope.key: cannot open");
    f = fopen(path(dir, "junk.pem"), "w");
    fputs("not a certificate\n", f);
    fclose(f);
    refused(path(dir, "junk.pem"), path(dir, "tls.key"), "junk.pem: not a PEM certificate");
    refused(path(dir, "tls.crt"), path(dir, "junk.pem"), "junk.pem: not a PEM private key");
    /* The CA is not the serving pair: its key does not match tls.crt. */
    refused(path(dir, "tls.crt"), path(dir, "ca.key"), "does not match");
}
END_TEST

START_TEST(test_certs_refuses_a_certificate_without_subject_alt_names)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=hookwarden.platform.svc -keyout %s/nosan.key -out %s/nosan.crt 2>/dev/null",
             dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    refused(path(dir, "nosan.crt"), path(dir, "nosan.key"), "has no subjectAltName");
}
END_TEST

START_TEST(test_certs_generate_refuses_bad_days)
{
    struct hw_error err = {0};

    ck_assert_int_eq(hw_certs_generate(dir, "a", "b", 0, 0, &err), -1);
    ck_assert_str_eq(err.msg, "--days must be between 1 and 3650");
}
END_TEST

Suite *hw_suite_certs(void);

Suite *
hw_suite_certs(void)
{
    Suite *s = suite_create("certs");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_certs_generated_pair_carries_only_the_service_names);
    tcase_add_test(tc, test_certs_development_pair_adds_loopback_names);
    tcase_add_test(tc, test_certs_refuses_a_key_that_does_not_match);
    tcase_add_test(tc, test_certs_validity_window_is_said_with_dates);
    tcase_add_test(tc, test_certs_loads_a_pair_outside_its_window_for_the_caller_to_judge);
    tcase_add_test(tc, test_certs_refuses_an_encrypted_key_without_prompting);
    tcase_add_test(tc, test_certs_parse_checks_content_given_in_memory);
    tcase_add_test(tc, test_certs_formats_times_as_utc_dates);
    tcase_add_test(tc, test_certs_refuses_missing_files_and_non_pem_naming_the_file);
    tcase_add_test(tc, test_certs_refuses_a_certificate_without_subject_alt_names);
    tcase_add_test(tc, test_certs_generate_refuses_bad_days);
    suite_add_tcase(s, tc);
    return s;
}

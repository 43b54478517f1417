/* SPDX-License-Identifier: Apache-2.0 */
/* certs: gen-certs output, and every reason a pair is refused at start. */
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
    ck_assert_int_eq(hw_certs_generate(dir, "hookwarden", "platform", 30, NULL), 0);
    ck_assert_int_eq(hw_certs_generate(other, "hookwarden", "platform", 30, NULL), 0);
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

START_TEST(test_certs_generated_pair_loads_with_the_service_sans)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};
    struct stat st;

    ck_assert_int_eq(hw_certs_load(path(dir, "tls.crt"), path(dir, "tls.key"), time(NULL), &pair, &err), 0);
    ck_assert_str_eq(pair.info.subject, "CN=hookwarden.platform.svc");
    ck_assert_str_eq(pair.info.sans, "DNS:hookwarden, DNS:hookwarden.platform, DNS:hookwarden.platform.svc, "
                                     "DNS:hookwarden.platform.svc.cluster.local, DNS:localhost, IP:127.0.0.1");
    ck_assert_int_eq(strlen(pair.info.sha256), 95);
    ck_assert(pair.info.not_after > time(NULL) + 29 * 86400);
    ck_assert_ptr_nonnull(strstr(pair.key_pem, "BEGIN PRIVATE KEY"));
    hw_certs_pair_clear(&pair);
    ck_assert_int_eq(stat(path(dir, "tls.key"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(path(dir, "ca.key"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

static void
refused(const char *cert, const char *key, time_t now, const char *why)
{
    struct hw_certs_pair pair;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_certs_load(cert, key, now, &pair, &err), -1);
    ck_assert_int_eq(err.code, HW_EINVAL);
    ck_assert_msg(strstr(err.msg, why) != NULL, "\"%s\" lacks \"%s\"", err.msg, why);
    ck_assert_ptr_null(pair.key_pem);
}

START_TEST(test_certs_refuses_a_key_that_does_not_match)
{
    refused(path(dir, "tls.crt"), path(other, "tls.key"), time(NULL), "does not match certificate");
}
END_TEST

START_TEST(test_certs_refuses_expired_and_not_yet_valid_certificates)
{
    refused(path(dir, "tls.crt"), path(dir, "tls.key"), time(NULL) + 40 * 86400, "expired");
    refused(path(dir, "tls.crt"), path(dir, "tls.key"), time(NULL) - 86400, "is not yet valid");
}
END_TEST

START_TEST(test_certs_refuses_missing_files_and_non_pem_naming_the_file)
{
    FILE *f;

    refused(path(dir, "nope.crt"), path(dir, "tls.key"), time(NULL), "nope.crt: cannot open");
    refused(path(dir, "tls.crt"), path(dir, "nope.key"), time(NULL), "nope.key: cannot open");
    f = fopen(path(dir, "junk.pem"), "w");
    fputs("not a certificate\n", f);
    fclose(f);
    refused(path(dir, "junk.pem"), path(dir, "tls.key"), time(NULL), "junk.pem: not a PEM certificate");
    refused(path(dir, "tls.crt"), path(dir, "junk.pem"), time(NULL), "junk.pem: not a PEM private key");
    /* The CA is not the serving pair: its key does not match tls.crt. */
    refused(path(dir, "tls.crt"), path(dir, "ca.key"), time(NULL), "does not match");
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
    refused(path(dir, "nosan.crt"), path(dir, "nosan.key"), time(NULL), "has no subjectAltName");
}
END_TEST

START_TEST(test_certs_generate_refuses_bad_days)
{
    struct hw_error err = {0};

    ck_assert_int_eq(hw_certs_generate(dir, "a", "b", 0, &err), -1);
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
    tcase_add_test(tc, test_certs_generated_pair_loads_with_the_service_sans);
    tcase_add_test(tc, test_certs_refuses_a_key_that_does_not_match);
    tcase_add_test(tc, test_certs_refuses_expired_and_not_yet_valid_certificates);
    tcase_add_test(tc, test_certs_refuses_missing_files_and_non_pem_naming_the_file);
    tcase_add_test(tc, test_certs_refuses_a_certificate_without_subject_alt_names);
    tcase_add_test(tc, test_certs_generate_refuses_bad_days);
    suite_add_tcase(s, tc);
    return s;
}

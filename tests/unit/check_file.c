/* SPDX-License-Identifier: Apache-2.0 */
/* file: the one whole-file reader, its limit and its messages. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hookwarden/file.h"

static char path[64];

static void
setup(void)
{
    int fd;

    snprintf(path, sizeof(path), "/tmp/hw-file-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    close(fd);
}

static void
teardown(void)
{
    unlink(path);
}

START_TEST(test_file_reads_a_whole_file)
{
    struct hw_buf b;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_file_read(path, "thing", 10, &b, &err), 0);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_str_eq(b.data, "0123456789");
    hw_buf_free(&b);
}
END_TEST

START_TEST(test_file_refuses_a_file_over_the_limit_naming_it)
{
    struct hw_buf b;
    struct hw_error err = {0};
    char want[160];

    ck_assert_int_eq(hw_file_read(path, "policy file", 9, &b, &err), -1);
    snprintf(want, sizeof(want), "policy file %s: larger than 9 bytes", path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_file_names_a_missing_file)
{
    struct hw_buf b;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_file_read("/nonexistent/x.pem", "certificate", 100, &b, &err), -1);
    ck_assert_str_eq(err.msg, "certificate /nonexistent/x.pem: cannot open: No such file or directory");
    ck_assert_int_eq(err.code, HW_EINVAL);
}
END_TEST

START_TEST(test_file_reads_an_empty_file_as_empty)
{
    struct hw_buf b;
    FILE *f = fopen(path, "w");

    fclose(f);
    ck_assert_int_eq(hw_file_read(path, "thing", 10, &b, NULL), 0);
    ck_assert_uint_eq(b.len, 0);
    hw_buf_free(&b);
}
END_TEST

START_TEST(test_file_refuses_a_directory)
{
    struct hw_buf b;
    struct hw_error err = {0};

    ck_assert_int_eq(hw_file_read("/tmp", "policy file", 100, &b, &err), -1);
    ck_assert_str_eq(err.msg, "policy file /tmp: cannot read: Is a directory");
}
END_TEST

Suite *hw_suite_file(void);

Suite *
hw_suite_file(void)
{
    Suite *s = suite_create("file");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_file_reads_a_whole_file);
    tcase_add_test(tc, test_file_refuses_a_file_over_the_limit_naming_it);
    tcase_add_test(tc, test_file_names_a_missing_file);
    tcase_add_test(tc, test_file_reads_an_empty_file_as_empty);
    tcase_add_test(tc, test_file_refuses_a_directory);
    suite_add_tcase(s, tc);
    return s;
}
